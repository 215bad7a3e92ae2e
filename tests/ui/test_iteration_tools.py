"""Iteration tools: heat maps + loss curve, A/B view, seed grid, PNG drop — with fake results (fast)."""
from __future__ import annotations

import sys

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWidget

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import fake_result, isolate_dirs, make_store, sample_request

from aae_desktop.engine.tokens import tokenize_prompt
from aae_desktop.gallery.heatmaps import loss_curves, overlay, word_maps
from aae_desktop.ui.iterate.ab_view import ABView
from aae_desktop.ui.iterate.heatmap_view import SIDE_BY_SIDE, HeatmapView
from aae_desktop.ui.gallery.png_drop import PngDropHandler
from aae_desktop.ui.iterate.seed_grid import SeedGridView

TIMEOUT = 10_000


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


def test_word_maps_group_tokens_and_overlay_marks_the_hot_spot(tokenizer):
    request = sample_request(prompt="a hedgehog and a frog").with_excite(token_indices=())
    parsed_words = {w.text: w.token_indices for w in tokenize_prompt(tokenizer, request.prompt).words}
    hog = parsed_words["hedgehog"]
    hot = np.zeros((16, 16), np.float32)
    hot[2:5, 10:14] = 1.0
    maps = {i: hot for i in hog} | {parsed_words["frog"][0]: np.ones((16, 16), np.float32) * 0.1}
    words = word_maps(request, maps, tokenizer)
    assert [w.label for w in words] == ["hedgehog", "frog"]
    assert words[0].token_indices == hog
    image = Image.new("RGB", (128, 128), (0, 0, 255))
    out = np.asarray(overlay(image, words[0].attention, 1.0)).astype(int)
    hot_px, cold_px = out[28, 96], out[100, 20]
    assert hot_px[0] > 200 and hot_px[1] > 150  # hot area turns bright yellow-white over the blue
    assert tuple(cold_px) == (0, 0, 255)  # cold area keeps the picture


def test_loss_curves_per_word():
    result = fake_result(sample_request()).images[0]
    curves = loss_curves(result.loss_history, word_maps(result.request, result.attention_maps))
    assert [c.label for c in curves] == ["loss", "token 2", "token 5"]
    assert curves[0].values == pytest.approx([1.0, 0.9, 0.8, 0.7])
    assert curves[2].values == pytest.approx([1 - (0.1 * s + 0.05) for s in range(4)])


def test_heatmap_view_fresh_result_and_from_gallery_sidecar(qtbot, tmp_path, tokenizer):
    result = fake_result(sample_request()).images[0]
    view = HeatmapView()
    qtbot.addWidget(view)
    view.show_result(result, tokenizer)
    assert [view.word_combo.itemText(i) for i in range(view.word_combo.count())] == [SIDE_BY_SIDE, "cat", "frog"]
    assert view.canvas.words() == ["cat", "frog"]  # side by side
    view.word_combo.setCurrentText("frog")
    assert view.canvas.words() == ["frog"]
    assert [c.label for c in view.curve.curves] == ["loss", "cat", "frog"]
    view.curve.resize(300, 160)
    view.curve.grab()  # paints without error

    store = make_store(tmp_path)
    saved = store.save_result(fake_result(sample_request()), when=datetime(2026, 1, 1))[0]
    restarted = HeatmapView()  # as after a restart: only the files are left
    qtbot.addWidget(restarted)
    restarted.show_file(saved.path, tokenizer)
    assert [w.label for w in restarted.words] == ["cat", "frog"]
    np.testing.assert_allclose(restarted.words[1].attention, result.attention_maps[5], atol=1e-3)
    assert restarted.message.text() == ""


def test_heat_maps_fill_their_panel_with_word_and_peak(qtbot, tokenizer):
    """Not postage stamps: each map takes the room the panel has, overlaid at the chosen opacity."""
    result = fake_result(sample_request()).images[0]
    view = HeatmapView()
    qtbot.addWidget(view)
    view.resize(1200, 420)
    view.show()
    view.show_result(result, tokenizer)
    qtbot.waitExposed(view)
    canvas = view.canvas
    both = canvas.picture_rects()
    assert len(both) == 2 and both[0].top() == both[1].top()  # a wide panel puts them side by side
    # The tallest square that fits the canvas height (less the margins) is what each map gets.
    assert min(r.height() for r in both) >= canvas.height() - 2 * 8 - 1
    view.word_combo.setCurrentText("cat")
    (one,) = canvas.picture_rects()
    assert one.height() >= canvas.height() - 2 * 8 - 1
    shot = canvas.grab().toImage()
    centre = shot.pixelColor(one.center())
    assert centre.name() != "#1b1d22"  # the picture is painted where the rect says
    # The number is the loss's (smoothed) peak of the last measurement, as the readout shows it (#20).
    last = result.loss_history[-1].token_max_attention
    peak = min(last[t] for t in view.words[0].token_indices)
    assert canvas._cells[0].peak == pytest.approx(peak)
    assert peak != pytest.approx(float(view.words[0].attention.max()))
    # Opacity 0 leaves the image itself; a higher opacity changes the pixels.
    view.opacity.setValue(0)
    plain = canvas.grab().toImage().pixelColor(one.center())
    view.opacity.setValue(100)
    covered = canvas.grab().toImage().pixelColor(one.center())
    assert plain != covered


def test_grid_shape_stacks_or_spreads_with_the_panel():
    from PySide6.QtCore import QSize

    from aae_desktop.ui.iterate.heatmap_canvas import grid_shape

    assert grid_shape(3, QSize(1200, 300), 1.0) == (3, 1)
    assert grid_shape(3, QSize(300, 1200), 1.0) == (1, 3)
    assert grid_shape(4, QSize(800, 800), 1.0) == (2, 2)


def test_heatmap_view_explains_missing_maps(qtbot, tmp_path):
    view = HeatmapView()
    qtbot.addWidget(view)
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    view.show_file(path)
    assert "no Attend-and-Excite settings" in view.message.text()


def test_ab_view_side_by_side_and_split(qtbot):
    view = ABView()
    qtbot.addWidget(view)
    red, blue = QImage(64, 64, QImage.Format.Format_RGB32), QImage(64, 64, QImage.Format.Format_RGB32)
    red.fill(Qt.GlobalColor.red)
    blue.fill(Qt.GlobalColor.blue)
    view.set_pair(red, blue, seed=42, words="cat, frog")
    assert "seed 42" in view.title.text()
    assert view.left_label.text().startswith("With Attend-and-Excite")
    assert view.right_label.text().startswith("Without")
    view.resize(500, 500)
    view.show()
    view.split_mode.setChecked(True)
    view.slider.setValue(250)
    qtbot.waitUntil(lambda: view.split.height() > 150, timeout=2000)
    shot = view.split.grab().toImage()
    rect = view.split.image_rect()
    y = int(rect.center().y())
    assert QImage(shot).pixelColor(int(rect.left() + rect.width() * 0.1), y).red() > 200  # left of the split: A
    assert QImage(shot).pixelColor(int(rect.left() + rect.width() * 0.75), y).blue() > 200  # right of it: B


def test_seed_grid_cells_click_into_gallery_and_save(qtbot, tmp_path):
    from aae_desktop.gallery.grid import save_grid
    from aae_desktop.gallery.metadata import read_request

    store = make_store(tmp_path)
    result = fake_result(sample_request(seed=10), n=4)
    grid = SeedGridView()
    qtbot.addWidget(grid)
    grid.set_result(result)
    assert sorted(grid.cells) == [10, 11, 12, 13]
    saved = store.save_result(result)
    grid.set_saved_paths(saved)
    with qtbot.waitSignal(grid.open_in_gallery, timeout=TIMEOUT) as opened:
        grid.cells[12].click()
    assert opened.args[0] == str(saved[2].path.resolve())
    path = save_grid(store, grid.images(), result.request)
    with Image.open(path) as sheet:
        assert sheet.size == (2 * 64, 2 * (64 + 18))
    assert read_request(path).num_images == 4 and read_request(path).seed == 10


def _drop(handler, widget, path: Path):
    """Drag onto the window (through Qt's event delivery), then drop. Offscreen Qt only delivers a
    Drop during a real drag session, so the drop goes to the filter the way Qt would hand it over."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    assert handler.eventFilter(widget, drop)


def test_drop_foreign_a1111_png_and_one_without_metadata(qtbot, tmp_path):
    from PIL.PngImagePlugin import PngInfo

    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    handler = PngDropHandler(window, current_model=lambda: "my-model")
    assert window.acceptDrops()
    info = PngInfo()
    info.add_text("parameters", "a castle on a hill\nNegative prompt: fog\n"
                                "Steps: 30, Sampler: Euler a, CFG scale: 5, Seed: 77, Size: 512x640, Model: other")
    foreign = tmp_path / "civitai.png"
    Image.new("RGB", (8, 8)).save(foreign, pnginfo=info)
    with qtbot.waitSignal(handler.restored, timeout=TIMEOUT) as got:
        _drop(handler, window, foreign)
    request, source, seed_known = got.args
    assert source == "a1111" and seed_known
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == ("a castle on a hill", "fog", 77, 30)
    assert (request.width, request.height, request.scheduler, request.model) == (512, 640, "euler_a", "my-model")

    bare = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(bare)
    with qtbot.waitSignal(handler.failed, timeout=TIMEOUT) as failed:
        _drop(handler, window, bare)
    assert "photo.png carries no generation settings" in failed.args[0]


@pytest.fixture
def controller(fake_engine):
    from aae_desktop.ui.run.worker import WorkerController

    c = WorkerController(fake_engine)
    yield c
    c.shutdown()


def test_runner_ab_on_fake_engine_and_clear_refusals(qtbot, controller, fake_engine):
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.ui.iterate.iteration_runs import IterationRunner

    runner = IterationRunner(controller, LoadOptions)
    request = sample_request(steps=2, num_images=3).with_excite(max_iter_to_alter=1, thresholds=())
    with qtbot.waitSignal(runner.ab_ready, timeout=TIMEOUT) as ab:
        assert runner.start_ab(request)
    pair = ab.args[0]
    assert [r.excite.enabled for r in fake_engine.runs] == [True, False]
    assert all(r.num_images == 1 and r.seed == 6141 for r in fake_engine.runs)
    assert pair.seed == 6141 and not runner.busy

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as refused:
        assert not runner.start_ab(request.with_excite(token_indices=()))
    assert "at least one selected word" in refused.args[0]
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as refused:
        assert not runner.start_sweep(request, 0)
    assert "between 1 and" in refused.args[0]

    with qtbot.waitSignal(runner.sweep_ready, timeout=TIMEOUT) as sweep:
        runner.start_sweep(request, 3)
        with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as busy:
            runner.start_ab(request)  # the worker is busy with the sweep
    assert "already running" in busy.args[0]
    assert sweep.args[0].seeds == [6141, 6142, 6143]
