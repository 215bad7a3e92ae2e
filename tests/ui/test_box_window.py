"""Placing words in the window (#23): a chip's "Place…" starts a box drawn on the preview; boxes move,
resize, nudge with the arrows and go with Delete or "Clear boxes"; they keep to their words through
prompt edits and restores, keep their place in 0-1 when the size changes, and every run carries them."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from aae_desktop.engine.objectives.box_settings import BoxSettings

TIMEOUT = 15000
PROMPT = "a cat and a frog"  # cat 2, frog 5; end of text 6


def _index(window, text):
    return [i for i, w in enumerate(window.prompt_editor.parsed.words) if w.text == text][0]


def _action(menu, text):
    return next(a for a in menu.actions() if a.text() == text)


def _point(window, x, y) -> QPoint:
    rect = window.preview.image_rect()
    return QPoint(round(rect.left() + x * rect.width()), round(rect.top() + y * rect.height()))


def _drag(qtbot, window, start, end):
    preview = window.preview
    qtbot.mousePress(preview, Qt.MouseButton.LeftButton, pos=_point(window, *start))
    qtbot.mouseMove(preview, _point(window, (start[0] + end[0]) / 2, (start[1] + end[1]) / 2))
    qtbot.mouseMove(preview, _point(window, *end))
    qtbot.mouseRelease(preview, Qt.MouseButton.LeftButton, pos=_point(window, *end))


def _boxes(window):
    return {tokens: box for tokens, box in window.current_request().boxes.boxes}


def _close(box, expected, tol=0.02):
    return all(abs(a - b) <= tol for a, b in zip(box, expected))


@pytest.fixture
def window(make_window):
    win = make_window()
    win.resize(1280, 800)
    win.prompt_editor.prompt_edit.setPlainText(PROMPT)
    return win


def _place(qtbot, window, word, start, end):
    menu = window.prompt_editor.token_selector.binding_menu(_index(window, word))
    _action(menu, "Place…").trigger()
    assert window.preview.boxes.placing == word
    _drag(qtbot, window, start, end)
    assert window.preview.boxes.placing == ""


def test_place_draws_a_box_for_the_word_and_the_run_carries_it(window, qtbot):
    assert not window.parameters.boxes.isChecked()
    _place(qtbot, window, "cat", (0.0, 0.3), (0.5, 1.0))
    _place(qtbot, window, "frog", (0.5, 0.3), (1.0, 1.0))
    boxes = _boxes(window)
    assert set(boxes) == {(2,), (5,)}
    assert _close(boxes[(2,)], (0.0, 0.3, 0.5, 1.0)) and _close(boxes[(5,)], (0.5, 0.3, 1.0, 1.0))
    assert window.parameters.boxes.isChecked() and "cat, frog" in window.parameters.boxes.note.text()
    request = window.current_request()
    assert request.boxes.active and request.boxes.prompt_length == 6
    request.validate()
    state = window.prompt_editor.token_selector._state.text()
    assert "Nothing excited: boxes alone" in state  # not "click at least one word": boxes alone can run
    labels = [item.label for item in window.preview.boxes.items]
    assert labels == ["cat", "frog"]
    menu = window.prompt_editor.token_selector.binding_menu(_index(window, "cat"))
    assert _action(menu, "Move its box…") and _action(menu, "Remove its box").isEnabled()


def test_boxes_move_resize_nudge_and_delete(window, qtbot):
    _place(qtbot, window, "cat", (0.1, 0.1), (0.4, 0.5))
    box = _boxes(window)[(2,)]
    _drag(qtbot, window, (0.25, 0.3), (0.45, 0.4))  # inside: moves by (0.2, 0.1), size kept
    moved = _boxes(window)[(2,)]
    assert _close(moved, (box[0] + 0.2, box[1] + 0.1, box[2] + 0.2, box[3] + 0.1))
    _drag(qtbot, window, (moved[2], 0.5), (0.9, 0.5))  # the right edge: resizes
    resized = _boxes(window)[(2,)]
    assert _close(resized, (moved[0], moved[1], 0.9, moved[3]))
    qtbot.keyClick(window.preview, Qt.Key.Key_Right)  # the box dragged last is selected
    nudged = _boxes(window)[(2,)]
    assert nudged[0] == pytest.approx(resized[0] + 0.01) and nudged[2] == pytest.approx(min(resized[2] + 0.01, 1.0))
    qtbot.keyClick(window.preview, Qt.Key.Key_Delete)
    assert _boxes(window) == {}


def test_clear_boxes_and_escape_while_placing(window, qtbot):
    _place(qtbot, window, "cat", (0.0, 0.0), (0.5, 0.5))
    _place(qtbot, window, "frog", (0.5, 0.5), (1.0, 1.0))
    window.clear_boxes_action.trigger()
    assert _boxes(window) == {}
    menu = window.prompt_editor.token_selector.binding_menu(_index(window, "cat"))
    _action(menu, "Place…").trigger()
    qtbot.keyClick(window.preview, Qt.Key.Key_Escape)
    assert window.preview.boxes.placing == ""
    assert _boxes(window) == {}


def test_boxes_keep_to_their_words_through_edits(window, qtbot):
    _place(qtbot, window, "frog", (0.5, 0.3), (1.0, 1.0))
    editor = window.prompt_editor
    cursor = editor.prompt_edit.textCursor()
    cursor.setPosition(2)
    cursor.insertText("fluffy ")
    assert editor.prompt() == "a fluffy cat and a frog"
    assert set(_boxes(window)) == {(6,)}  # frog is token 6 now, its box with it
    cursor = editor.prompt_edit.textCursor()
    cursor.setPosition(len("a fluffy cat and "))
    cursor.setPosition(len("a fluffy cat and a frog"), cursor.MoveMode.KeepAnchor)
    cursor.insertText("an owl")  # the word is gone: so is its box
    assert editor.prompt() == "a fluffy cat and an owl"
    assert _boxes(window) == {}


def test_restore_brings_boxes_back_and_a_size_change_keeps_them_in_place(window, qtbot):
    request = window.current_request().replace(
        boxes=BoxSettings(True, (((2,), (0.0, 0.3, 0.5, 1.0)), ((5,), (0.5, 0.3, 1.0, 1.0))), 15.0, prompt_length=6))
    window.prompt_editor.prompt_edit.setPlainText("an owl")
    window.apply_request(request)
    assert window.current_request().boxes == request.boxes
    assert window.parameters.boxes.scale_spin.value() == 15.0
    before = window.preview.boxes.to_screen(request.boxes.boxes[0][1])
    window.parameters.width.setValue(768)  # a wide image: the box keeps its place in 0-1 of it
    assert window.current_request().boxes.boxes == request.boxes.boxes
    after = window.preview.boxes.to_screen(request.boxes.boxes[0][1])
    assert after.width() / after.height() != pytest.approx(before.width() / before.height())


def test_seed_sweeps_and_a_b_keep_the_boxes(window, qtbot, fake_engine, tmp_path):
    from tests.ui.gallery_helpers import make_store
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    integration = install_gallery(window, make_store(tmp_path))
    window.request_model_load("fake-model-folder")
    window.parameters.steps.setValue(2)
    _place(qtbot, window, "cat", (0.0, 0.3), (0.5, 1.0))
    window.prompt_editor.set_word_selected(_index(window, "frog"), True)  # A/B compares exciting on and off
    with qtbot.waitSignal(integration.runner.sweep_ready, timeout=TIMEOUT):
        integration.run_sweep()
    with qtbot.waitSignal(integration.runner.ab_ready, timeout=TIMEOUT):
        integration.run_ab()
    wanted = window.current_request().boxes
    assert wanted.active
    assert len(fake_engine.runs) == 3 and all(run.boxes == wanted for run in fake_engine.runs)


def test_heat_maps_draw_each_placed_words_box_over_its_map(qtbot, tokenizer):
    import numpy as np
    from PIL import Image

    from aae_desktop.engine.request import ExciteSettings, GenerationRequest
    from aae_desktop.gallery.sidecar import AttentionData
    from aae_desktop.ui.iterate.heatmap_view import HeatmapView

    view = HeatmapView()
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    maps = {2: np.zeros((16, 16), np.float32), 5: np.zeros((16, 16), np.float32)}
    maps[2][:, :8], maps[5][:, 8:] = 1.0, 1.0
    request = GenerationRequest(model="m", prompt=PROMPT, excite=ExciteSettings(token_indices=(2, 5)),
                                boxes=BoxSettings(True, (((2,), (0.0, 0.0, 0.5, 1.0)),), prompt_length=6))
    view.set_data(Image.new("RGB", (64, 64), "gray"), request, AttentionData(maps, []), tokenizer)
    view.word_combo.setCurrentIndex(view.word_combo.findText("cat"))
    cat = view.canvas._cells[0]
    assert cat.word == "cat" and cat.box == (0.0, 0.0, 0.5, 1.0)
    view.word_combo.setCurrentIndex(view.word_combo.findText("frog"))
    assert view.canvas._cells[0].box is None  # the frog was not placed
    shot = view.canvas.grab().toImage()
    assert not shot.isNull()
