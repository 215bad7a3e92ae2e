"""Prompt editor: chips per word, selection following typing, token count and the 75-token limit."""
from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QToolButton

from aae_desktop.ui.prompt.prompt_editor import PromptEditor


def _editor(qtbot, tokenizer, prompt="a cat and a frog"):
    editor = PromptEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.set_tokenizer(tokenizer)
    editor.set_prompt(prompt)
    return editor


def _chip(editor, text, nth=0):
    return [c for c in editor.token_selector.chips if c.text() == text][nth]


def _type_at(qtbot, editor, position, text):
    cursor = editor.prompt_edit.textCursor()
    cursor.setPosition(position)
    editor.prompt_edit.setTextCursor(cursor)
    qtbot.keyClicks(editor.prompt_edit, text)


def test_chips_are_checkable_buttons_named_by_word(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    chips = editor.token_selector.chips
    assert [c.text() for c in chips] == ["a", "cat", "and", "a", "frog"]
    assert all(isinstance(c, QToolButton) and c.isCheckable() for c in chips)
    assert editor.findChild(QToolButton, "wordChip") is not None


def test_clicking_a_chip_selects_its_tokens_and_tooltip_names_them(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    _chip(editor, "frog").click()
    assert editor.token_indices() == (5,)
    assert "5" in _chip(editor, "frog").toolTip()
    assert "frog" in editor.token_selector._state.text()
    # The chosen word is highlighted in the prompt text too.
    selections = editor.prompt_edit.extraSelections()
    assert [s.cursor.selectedText() for s in selections] == ["frog"]


def test_typing_before_selected_word_keeps_it_selected(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    _chip(editor, "cat").click()
    _type_at(qtbot, editor, 2, "black ")
    assert editor.prompt() == "a black cat and a frog"
    assert [w.text for w in editor.selected_words()] == ["cat"]
    assert editor.token_indices() == (3,)
    assert _chip(editor, "cat").isChecked()
    assert not _chip(editor, "black").isChecked()


def test_deleting_selected_word_drops_it_out(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    _chip(editor, "cat").click()
    _chip(editor, "frog").click()
    cursor = editor.prompt_edit.textCursor()
    cursor.setPosition(2)
    cursor.setPosition(6, QTextCursor.MoveMode.KeepAnchor)  # "cat "
    editor.prompt_edit.setTextCursor(cursor)
    qtbot.keyClick(editor.prompt_edit, "\b")  # Backspace on a selection deletes it
    assert editor.prompt() == "a and a frog"
    assert [w.text for w in editor.selected_words()] == ["frog"]
    assert editor.token_indices() == (4,)


def test_nothing_selected_is_a_clear_state(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    assert editor.token_indices() == ()
    assert "Nothing selected" in editor.token_selector._state.text()


def test_token_count_and_overflow_marking(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer, "a cat")
    assert "2 / 75 tokens" in editor.token_count.text()
    long_prompt = "red cat, " * 30  # 3 tokens each -> 90 tokens
    editor.set_prompt(long_prompt)
    assert "90 / 75" in editor.token_count.text()
    overflow = [s for s in editor.prompt_edit.extraSelections() if s.cursor.selectionStart() > 0]
    assert overflow, "text past the 75-token limit should be marked"
    # Words past the limit cannot be chosen.
    assert not editor.token_selector.chips[-1].isEnabled()


def test_selection_set_before_tokenizer_arrives_is_applied_later(qtbot, tokenizer):
    editor = PromptEditor()
    qtbot.addWidget(editor)
    editor.set_prompt("a cat and a frog", "blurry", [2, 5])
    assert editor.token_indices() == (2, 5)
    editor.set_tokenizer(tokenizer)
    assert [w.text for w in editor.selected_words()] == ["cat", "frog"]
    assert editor.negative_prompt() == "blurry"


def test_undo_history_survives_a_restore_and_selection_follows(qtbot, tokenizer):
    editor = _editor(qtbot, tokenizer)
    _type_at(qtbot, editor, len("a cat and a frog"), " at dusk")
    editor.set_prompt("a dog and a bird", token_indices=(2,))  # e.g. "Use all settings" from the gallery
    assert editor.prompt_edit.toPlainText() == "a dog and a bird"
    assert [w.text for w in editor.selected_words()] == ["dog"]
    editor.prompt_edit.undo()
    assert editor.prompt_edit.toPlainText() == "a cat and a frog at dusk"
    editor.prompt_edit.redo()
    assert editor.prompt_edit.toPlainText() == "a dog and a bird"
