"""Every run names its own words in the readout (Generate, A/B, seed sweep), and an A/B says what
the big preview shows and how long the whole A/B took (issue 20 §3)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton

sys.path.insert(0, str(Path(__file__).parent))
from gallery_helpers import isolate_dirs, make_store, sample_request  # noqa: E402

from aae_desktop.ui.gallery.gallery_integration import install_gallery  # noqa: E402

TIMEOUT = 20_000
OWL_TREE = "an owl on a big green tree"  # owl 2, tree 7


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


def _window(make_window, tmp_path, qtbot):
    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    qtbot.waitUntil(lambda: integration.gallery.status.text() != "", timeout=TIMEOUT)
    return window, integration


def _readout(window) -> str:
    return window.run_status.readout.text()


def test_ab_after_generate_names_the_ab_prompts_words(qtbot, make_window, tmp_path):
    window, integration = _window(make_window, tmp_path, qtbot)
    window.apply_request(sample_request(steps=3))  # "a cat and a frog", cat and frog
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate()
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=TIMEOUT)
    assert "cat" in _readout(window) and "frog" in _readout(window)

    window.apply_request(sample_request(prompt=OWL_TREE, steps=3).with_excite(token_indices=(2, 7)))
    with qtbot.waitSignal(integration.runner.ab_ready, timeout=TIMEOUT):
        window.findChild(QPushButton, "abRunButton").click()
    text = _readout(window)
    assert "owl" in text and "tree" in text, text
    assert "cat" not in text and "#" not in text, text
    # The whole A/B's time, and a caption that says which half the big preview shows.
    status = window.run_status.progress.format()
    assert status.startswith("A/B done in") and status.endswith("s (both renders)"), status
    assert "with Attend-and-Excite" in window.preview._caption


def test_a_seed_sweep_before_any_generate_names_its_words(qtbot, make_window, tmp_path):
    window, integration = _window(make_window, tmp_path, qtbot)
    window.apply_request(sample_request(prompt=OWL_TREE, steps=3).with_excite(token_indices=(2, 7)))
    integration.sweep_count.setValue(2)
    with qtbot.waitSignal(integration.runner.sweep_ready, timeout=TIMEOUT):
        window.findChild(QPushButton, "sweepRunButton").click()
    text = _readout(window)
    assert "owl" in text and "tree" in text and "#" not in text, text


def test_a_plain_image_in_the_big_preview_says_it_is_without_attend_and_excite(qtbot, make_window, tmp_path):
    window, _ = _window(make_window, tmp_path, qtbot)
    window.apply_request(sample_request(steps=2).with_excite(enabled=False))
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate()
    assert window.preview._caption == "seed 6141 · without Attend-and-Excite"
