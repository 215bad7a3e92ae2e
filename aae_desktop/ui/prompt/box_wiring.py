"""Connects placed words (boxes) across the window: the word list's "Place…" starts drawing on the
preview, a drawn or edited box goes back to the prompt editor, and the editor's boxes are drawn on
the preview and named in the "Place words" group."""
from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence

from aae_desktop.ui.run.box_overlay import BoxItem


def connect_boxes(window: Any) -> None:
    editor, preview, panel = window.prompt_editor, window.preview, window.parameters.boxes
    overlay = preview.boxes

    def show(placed: list) -> None:
        overlay.set_items([BoxItem(index, text, colour, box) for index, text, colour, box in placed])
        panel.show_targets([text for _index, text, _colour, _box in placed])

    def start(index: int, text: str, colour: str) -> None:
        overlay.start_placing(index, text, colour)
        window.statusBar().showMessage(f"Drag on the preview where “{text}” should be (Esc stops).", 10000)

    def follow_size(*_args) -> None:
        preview.set_canvas_size(window.parameters.width.value(), window.parameters.height.value())

    editor.boxes_changed.connect(show)
    editor.place_requested.connect(start)
    overlay.box_changed.connect(editor.place_box)
    overlay.box_deleted.connect(editor.remove_box)
    panel.clear_button.clicked.connect(editor.clear_boxes)
    for spin in (window.parameters.width, window.parameters.height):
        spin.valueChanged.connect(follow_size)
    follow_size()

    clear = QAction("Clear &boxes", window)
    clear.setShortcut(QKeySequence("Ctrl+Shift+B"))
    clear.setToolTip("Remove every word's box.")
    clear.triggered.connect(editor.clear_boxes)
    window.run_menu.addAction(clear)
    window.clear_boxes_action = clear
