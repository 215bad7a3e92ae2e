"""Case 3: a batch that stops early (Ctrl-C, SIGTERM, Cancel, closing the window) keeps every image it
finished: each one is saved the moment it is decoded. Cancelling means "make no more", not "discard"."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from aae_desktop.engine.errors import GenerationCancelled
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.gallery.metadata import read_request
from aae_desktop.gallery.png_files import is_complete_png

from .conftest import PROMPT, cli_process, pngs_under


def test_the_engine_hands_out_each_image_as_it_finishes(tiny_model):
    from aae_desktop.engine.run.generate import generate

    cancel = threading.Event()
    seen = []

    def on_image(item):
        seen.append(item.seed)
        if len(seen) == 2:
            cancel.set()  # Cancel pressed while image 3 starts

    request = GenerationRequest(model="tiny", prompt=PROMPT, seed=10, num_images=4, steps=2, width=64, height=64,
                                excite=ExciteSettings(enabled=False))
    with pytest.raises(GenerationCancelled) as caught:
        generate(tiny_model, request, cancel=cancel, on_image=on_image)
    assert seen == [10, 11]
    assert [item.seed for item in caught.value.completed] == [10, 11]


def _render(tiny_model_dir, out, *extra):
    return ["render", "--model", tiny_model_dir, "--prompt", PROMPT, "--no-excite", "--out", out, "--steps", 3,
            "--width", 64, "--height", 64, "--num-images", 4, "--seed", 20, *extra]


def test_ctrl_c_during_image_3_keeps_images_1_and_2(home, tmp_path, tiny_model_dir, cli, monkeypatch):
    from aae_desktop.cli import render_output

    real_call = render_output.RenderOutput.__call__

    def save_then_interrupt(self, item):
        real_call(self, item)
        if self.finished == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while image 3 renders

    monkeypatch.setattr(render_output.RenderOutput, "__call__", save_then_interrupt)
    result = cli(*_render(tiny_model_dir, tmp_path / "batch.png", "--gallery"))
    assert result.code == 130 and "Traceback" not in result.err, result.err
    out = sorted(tmp_path.glob("batch-*.png"))
    assert [p.name for p in out] == ["batch-0.png", "batch-1.png"]
    assert [read_request(p).seed for p in out] == [20, 21]
    gallery = pngs_under(home.pictures)
    assert sorted(read_request(p).seed for p in gallery) == [20, 21]
    printed = [line for line in result.out.split("\n") if line.strip()]
    assert len(printed) == 4 and set(map(Path, printed)) == set(out) | set(gallery)
    assert "stopped after 2 of 4 images" in result.err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_keeps_the_finished_images(home, tmp_path, tiny_model_dir, sig):
    """The real process, stopped as a service manager (SIGTERM) or a terminal (SIGINT) would."""
    proc = cli_process(*_render(tiny_model_dir, tmp_path / "batch.png", "--steps", 12))
    printed = []
    try:
        for line in proc.stdout:
            printed.append(Path(line.strip()))
            if len(printed) == 2:
                proc.send_signal(sig)  # image 3 is rendering now
                break
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    printed += [Path(line) for line in out.split("\n") if line.strip()]
    assert proc.returncode == 128 + sig and "Traceback" not in err, err
    assert len(printed) >= 2 and all(is_complete_png(p) for p in printed)
    assert sorted(tmp_path.glob("batch-*.png")) == sorted(printed)  # nothing unreported, nothing half-written
    assert not list(tmp_path.glob(".*"))
    assert f"stopped after {len(printed)} of 4 images" in err
    # Only a person at the terminal is told to press Ctrl-C again.
    assert ("Ctrl-C again" in err) == (sig == signal.SIGINT), err


def _window_with_gallery(make_window, fake_engine):
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    fake_engine.step_seconds = 0.02
    window = make_window()
    integration = install_gallery(window)
    integration.gallery.background.wait()
    window.prompt_editor.set_prompt(PROMPT, "", (2,))
    window._set_model_source("fake-model")
    window.parameters.seed_mode.setCurrentIndex(window.parameters.seed_mode.findData("locked"))
    window.parameters.seed.setValue(40)
    window.parameters.num_images.setValue(4)
    window.parameters.steps.setValue(30)
    window.parameters.excite.max_iter.setValue(1)
    window.parameters.excite.thresholds.setText("0:0.05")
    return window, integration


def test_cancel_in_the_window_keeps_and_shows_the_finished_images(home, make_window, fake_engine, qtbot):
    window, integration = _window_with_gallery(make_window, fake_engine)
    finished = []
    window.image_ready.connect(lambda item: (finished.append(item), len(finished) == 2 and window.cancel()))
    with qtbot.waitSignal(window.worker.cancelled, timeout=30000):
        window.generate()
    integration.gallery.background.wait()
    assert sorted(read_request(p).seed for p in pngs_under(home.pictures)) == [40, 41]
    assert "Cancelled after 2 of 4" in window.run_status.progress.format()
    assert window.preview._caption == "seed 41 · image 2 of 4"  # the last finished image stays on screen
    qtbot.waitUntil(lambda: integration.gallery.model.rowCount() == 2, timeout=15000)
    with qtbot.waitSignal(window.worker.finished, timeout=30000):  # and the next run works
        window.parameters.num_images.setValue(1)
        window.generate()


def test_closing_the_window_during_image_3_keeps_images_1_and_2(home, make_window, fake_engine, qtbot):
    window, integration = _window_with_gallery(make_window, fake_engine)
    finished = []
    window.image_ready.connect(finished.append)
    window.generate()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=30000)
    window.close()
    seeds = sorted(read_request(p).seed for p in pngs_under(home.pictures))
    assert seeds[:2] == [40, 41] and len(seeds) == len(finished) < 4
