"""The window on a laptop screen: a 75-token prompt, two LoRAs and a finished seed sweep must not push
the window past 600 px in height, and at 1024 x 640 every control is inside the window or in a
column that scrolls to it, none squeezed below its own minimum size (#20 §2)."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit,
                               QPlainTextEdit, QScrollArea, QTabBar, QWidget)
from safetensors.torch import save_file

from aae_desktop.settings import Settings
from aae_desktop.ui.gallery.gallery_integration import install_gallery
from tests.ui.gallery_helpers import make_store

TIMEOUT = 15000
LONG_PROMPT = ("masterpiece, best quality, a fluffy ginger cat and a small green frog sitting together on a mossy "
               "rock beside a quiet forest pond at golden hour, soft warm light, detailed fur, wet glossy skin, "
               "reflections in the water, dragonflies, ferns, tiny white flowers, depth of field, bokeh, highly "
               "detailed, sharp focus, cinematic composition, trending on artstation")
CONTROLS = (QAbstractButton, QAbstractSpinBox, QAbstractSlider, QComboBox, QLineEdit, QPlainTextEdit, QTabBar)


@pytest.fixture
def busy_window(make_window, settings_store, tmp_path, qtbot):
    """The window as an artist has it after a while: long prompt, two LoRAs, a finished 4-seed sweep."""
    loras = tmp_path / "loras"
    loras.mkdir()
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    for name in ("ink-wash-painting-style", "watercolour-soft-light"):
        save_file({f"{key}.lora_down.weight": torch.zeros(2, 32), f"{key}.lora_up.weight": torch.zeros(32, 2)},
                  str(loras / f"{name}.safetensors"), metadata={"ss_base_model_version": "sd_v1"})
    settings_store.save(Settings(lora_dir=str(loras), last_model="/models/tiny"))
    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    qtbot.waitUntil(lambda: len(window.addons.scan.loras) == 2, timeout=TIMEOUT)
    editor = window.prompt_editor
    editor.set_prompt(LONG_PROMPT)
    assert len(editor.parsed.tokens) == 75
    words = [w.text for w in editor.parsed.words]
    editor.set_word_selected(words.index("cat"), True)
    editor.set_word_selected(words.index("frog"), True)
    window.addons.add_lora("ink-wash-painting-style")
    window.addons.add_lora("watercolour-soft-light")
    integration.tabs.setCurrentIndex(integration.tabs.indexOf(integration.grid.parentWidget()))
    with qtbot.waitSignal(integration.runner.sweep_ready, timeout=TIMEOUT):
        integration.run_sweep()
    qtbot.waitUntil(lambda: len(integration.grid.cells) == 4, timeout=TIMEOUT)
    return window, integration


def _in_scrolling_column(widget: QWidget, window: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QScrollArea) and parent.widget() is not None and parent.widget().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


def _problems(window: QWidget) -> list[str]:
    """Controls outside the window (and not in a scroll area inside it), or squeezed below their minimum."""
    inside = window.rect()
    found = []
    for control in window.findChildren(QWidget):
        if not isinstance(control, CONTROLS) or not control.isVisibleTo(window) or control.window() is not window:
            continue
        if control.objectName().startswith("qt_"):  # a part of a Qt control (a spin box's text field)
            continue
        name = f"{type(control).__name__} {control.objectName() or repr(getattr(control, 'text', lambda: '')())}"
        scroll = _in_scrolling_column(control, window)
        holder = scroll if scroll is not None else control
        box = QRect(holder.mapTo(window, holder.rect().topLeft()), holder.size())
        if not inside.contains(box):
            found.append(f"{name}: at {box.getRect()}, outside the window {inside.getRect()}")
        wanted = control.minimumSizeHint().expandedTo(control.minimumSize()).boundedTo(control.maximumSize())
        if control.width() < wanted.width() or control.height() < wanted.height():
            found.append(f"{name}: {control.width()}x{control.height()}, needs {wanted.width()}x{wanted.height()}")
    return found


def test_long_prompt_two_loras_and_a_sweep_keep_the_window_within_600_px(busy_window, qtbot):
    window, _ = busy_window
    assert window.minimumSizeHint().height() <= 600, window.minimumSizeHint()
    assert window.minimumSize().height() <= 600


@pytest.mark.parametrize("size", [(1024, 640), (1280, 720)])
def test_every_control_is_reachable_on_a_laptop_screen(busy_window, qtbot, size):
    window, integration = busy_window
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=TIMEOUT)
    for tab in range(integration.tabs.count()):  # each results tab has its own controls
        integration.tabs.setCurrentIndex(tab)
        try:
            qtbot.waitUntil(lambda: not _problems(window), timeout=3000)  # layouts settle after the switch
        except qtbot.TimeoutError:
            pass
        assert _problems(window) == [], integration.tabs.tabText(tab)
    assert (window.width(), window.height()) == size  # nothing made the window grow


def test_the_word_chips_scroll_inside_a_bounded_area(busy_window, qtbot):
    window, _ = busy_window
    window.resize(1024, 640)
    selector = window.prompt_editor.token_selector
    area = selector.findChild(QScrollArea, "wordChipScroll")
    chips = selector.chips
    assert len(chips) >= 40
    qtbot.waitUntil(lambda: area.height() < area.widget().height(), timeout=TIMEOUT)  # more chips than shown
    area.ensureWidgetVisible(chips[-1])
    qtbot.waitUntil(lambda: area.viewport().rect().contains(
        chips[-1].geometry().translated(area.widget().pos())), timeout=TIMEOUT)


def test_the_lora_hint_is_whole_in_the_narrowest_left_column(make_window, qtbot):
    """The hint under "LoRAs" was one unwrapped line: cut off at the left column's default width, and now
    that the column scrolls, it would set the column's minimum width. It wraps in a narrow column."""
    window = make_window()
    window.resize(1024, 640)
    window.work_splitter.setSizes([1, 10_000, 10_000])  # the left column as narrow as it goes
    hint = window.addons.empty_label

    def whole() -> bool:
        if hint.width() >= hint.sizeHint().width():
            return True
        return hint.wordWrap() and hint.height() >= hint.heightForWidth(hint.width())

    qtbot.waitUntil(lambda: hint.isVisible() and hint.width() < 300, timeout=TIMEOUT)
    qtbot.waitUntil(whole, timeout=3000)


def test_lora_rows_taken_out_leave_nothing_over_the_lora_header(busy_window):
    """Rows rebuilt when a LoRA is added used to stay visible at the panel's top-left (out of the
    layout, waiting for the event loop to delete them), covering the "LoRAs / Add LoRA" header."""
    window, _ = busy_window
    addons = window.addons
    addons.remove_lora("watercolour-soft-light")
    addons.add_lora("watercolour-soft-light")  # checked at once: no event loop runs the deletions
    current = {w for row in addons._rows for w in (row.spin, row.remove)}
    stale = [w.objectName() for w in addons.findChildren(QWidget)
             if w.objectName() in ("loraWeight", "removeLora") and w.isVisibleTo(addons) and w not in current]
    assert stale == []
