"""Prompt and negative prompt editors with a live token count and the word selector under them."""
from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from aae_desktop.engine.tokens import MAX_PROMPT_TOKENS
from aae_desktop.engine.prompt_syntax import find_lora_tags
from aae_desktop.engine.tokens import EMBEDDING_TOKEN_ID, PromptTokens, Word, tokenize_prompt
from aae_desktop.engine.objectives.bind_settings import Group
from aae_desktop.ui.prompt.binding_suggestion import suggested_pairs
from aae_desktop.ui.prompt.token_selector import TokenSelector
from aae_desktop.engine.objectives.box_settings import BoxedWord
from aae_desktop.ui.prompt.word_bindings import WordBindings
from aae_desktop.ui.prompt.word_boxes import WordBoxes
from aae_desktop.ui.prompt.word_marks import WordMarks
from aae_desktop.ui.prompt.word_selection import Edit, WordSelection

SELECTED_WORD_COLOR = QColor("#3d5a99")
OVERFLOW_COLOR = QColor("#e0605a")
TAG_COLOR = QColor("#5f9e8f")
EMBEDDING_COLOR = QColor("#b07cd8")


def _utf16(text: str, index: int) -> int:
    """Python counts code points, QTextCursor counts UTF-16 units; they differ after an emoji."""
    return len(text[:index].encode("utf-16-le")) // 2


def _replace_undoably(edit: QPlainTextEdit, text: str) -> None:
    """Replace all text as one undoable edit: setPlainText would wipe the artist's undo history,
    and restoring settings from the gallery must stay one Ctrl+Z away from the prompt before."""
    if edit.toPlainText() == text:
        return
    cursor = edit.textCursor()
    cursor.beginEditBlock()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)
    cursor.endEditBlock()


class _PromptText(QPlainTextEdit):
    """A plain text box that keeps Ctrl+Enter for the window's Generate shortcut."""

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.ignore()
            return
        super().keyPressEvent(event)


class PromptEditor(WordMarks, QWidget):
    """Owns the prompt text, the tokenizer view of it and the chosen words."""

    selection_changed = Signal()
    prompt_changed = Signal()
    bindings_changed = Signal(list)  # ["red → cat", ...]: the bound pairs now
    boxes_changed = Signal(list)  # [(word index, word, colour, box)]: the placed words now
    place_requested = Signal(int, str, str)  # word index, word, colour: the artist asked to draw its box

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._tokenizer: Any = None
        self._parsed: PromptTokens | None = None
        self._selection = WordSelection()
        self._bindings = WordBindings()  # which modifier describes which noun (binding)
        self._boxes = WordBoxes()  # where placed words go (boxes)
        self._pending_indices: tuple[int, ...] | None = None
        self._pending_groups: tuple[Group, ...] | None = None  # bound pairs restored before the tokenizer came
        self._pending_boxes: tuple[BoxedWord, ...] | None = None  # and boxes
        self._edit_hint: Edit | None = None
        self._excite_on = True
        self._vocabulary: dict[str, int] = {}  # embedding name -> vectors (from the embeddings folder)

        self.prompt_edit = _PromptText()
        self.prompt_edit.setObjectName("promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the image, e.g. “a cat and a frog on a mossy rock”")
        self.prompt_edit.setToolTip(
            "What the image should show. Click words below to make sure they appear (Attend-and-Excite). "
            "Ctrl+Enter generates."
        )
        self.prompt_edit.setTabChangesFocus(True)
        self.negative_edit = _PromptText()
        self.negative_edit.setObjectName("negativePromptEdit")
        self.negative_edit.setPlaceholderText("What to keep out, e.g. “blurry, low quality, text”")
        self.negative_edit.setToolTip("Things the image should avoid; the sampler steers away from these words.")
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setMaximumHeight(64)
        for edit in (self.prompt_edit, self.negative_edit):
            font = QFont(edit.font())
            font.setPointSizeF(font.pointSizeF() * 1.1)
            edit.setFont(font)
        self.token_count = QLabel()
        self.token_count.setObjectName("tokenCount")
        self.token_count.setToolTip(
            f"Prompt length in CLIP tokens. The text encoder reads at most {MAX_PROMPT_TOKENS}; "
            "anything after the limit (underlined in red) has no effect on the image."
        )
        self.token_selector = TokenSelector()

        prompt_header = QHBoxLayout()
        prompt_header.addWidget(_caption("Prompt"))
        prompt_header.addStretch(1)
        prompt_header.addWidget(self.token_count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(prompt_header)
        layout.addWidget(self.prompt_edit, 3)
        layout.addSpacing(6)
        layout.addWidget(_caption("Words to excite"))
        layout.addWidget(self.token_selector)
        layout.addSpacing(6)
        layout.addWidget(_caption("Negative prompt"))
        layout.addWidget(self.negative_edit, 1)

        self.prompt_edit.document().contentsChange.connect(self._remember_edit)
        self.prompt_edit.textChanged.connect(self._on_text_changed)
        self.token_selector.word_toggled.connect(self._on_word_toggled)
        self.token_selector.clear_requested.connect(self.clear_selection)
        self.token_selector.link_toggled.connect(self.toggle_link)
        self.token_selector.unlink_requested.connect(self.unlink_word)
        self.token_selector.suggest_requested.connect(self.suggest_links)
        self.token_selector.place_requested.connect(self._ask_to_place)
        self.token_selector.unplace_requested.connect(self.remove_box)
        self._refresh_count()

    # -- public API -----------------------------------------------------------------------------
    def set_tokenizer(self, tokenizer: Any) -> None:
        """Called once the tokenizer has loaded off the UI thread (and again when a model brings its own)."""
        self._tokenizer = tokenizer
        indices = self._pending_indices
        if indices is None and self._parsed is not None:
            indices = self._selection.token_indices(self._parsed)
        self._pending_indices = None
        self._parsed = tokenize_prompt(tokenizer, self.prompt(), self._vocabulary)
        self._selection.reset(self._parsed, indices or ())
        groups, self._pending_groups = self._pending_groups, None
        boxes, self._pending_boxes = self._pending_boxes, None
        if boxes is not None:
            self._boxes.reset(self._parsed, boxes)
        if groups is not None:
            self._bindings.reset(self._parsed, groups)
        elif self._bindings.automatic:
            self._bindings.suggest(self._parsed, suggested_pairs(self._parsed))
        self._refresh()
        self.selection_changed.emit()

    def set_embedding_vocabulary(self, vocabulary: dict[str, int]) -> None:
        """Embedding names and vector counts: such a word becomes one chip holding all its vectors.

        The chosen words are kept by their place in the text, so they survive the re-count."""
        if vocabulary == self._vocabulary:
            return
        self._vocabulary = dict(vocabulary)
        if self._tokenizer is not None:
            self._parsed = tokenize_prompt(self._tokenizer, self.prompt(), self._vocabulary)
            self._refresh()
            self.selection_changed.emit()

    @property
    def embedding_vocabulary(self) -> dict[str, int]:
        return dict(self._vocabulary)

    def replace_prompt_text(self, text: str) -> None:
        """Change the prompt as an edit (undoable; chosen words follow), e.g. a LoRA weight set in the list.

        Only the characters that differ are replaced, so the chosen words around them keep their place."""
        old = self.prompt()
        if old == text:
            return
        start = 0
        while start < min(len(old), len(text)) and old[start] == text[start]:
            start += 1
        end = 0
        while end < min(len(old), len(text)) - start and old[-1 - end] == text[-1 - end]:
            end += 1
        cursor = QTextCursor(self.prompt_edit.document())
        cursor.setPosition(_utf16(old, start))
        cursor.setPosition(_utf16(old, len(old) - end), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text[start:len(text) - end])

    def replace_negative_text(self, text: str) -> None:
        """Change the negative prompt as one undoable edit (a LoRA weight set in the list)."""
        _replace_undoably(self.negative_edit, text)

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    @property
    def parsed(self) -> PromptTokens | None:
        return self._parsed

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText()

    def negative_prompt(self) -> str:
        return self.negative_edit.toPlainText()

    def token_indices(self) -> tuple[int, ...]:
        if self._parsed is None:
            return self._pending_indices or ()
        return self._selection.token_indices(self._parsed)

    def selected_words(self) -> list[Word]:
        return self._selection.selected_words(self._parsed) if self._parsed else []

    def set_prompt(self, prompt: str, negative: str = "", token_indices: Iterable[int] = (),
                   bind_groups: Iterable[Group] | None = None, boxes: Iterable[BoxedWord] = ()) -> None:
        """Replace everything, choosing the words that own `token_indices` (used to restore a request).

        `bind_groups` (token indices, as a request holds them) restores the bound pairs; None lets the
        suggestion find them in the new prompt. `boxes` places words (token indices and box)."""
        indices = tuple(token_indices)
        groups = None if bind_groups is None else tuple(bind_groups)
        boxes = tuple(boxes)
        self._pending_indices = indices if self._tokenizer is None else None
        self._pending_groups = groups if self._tokenizer is None else None
        self._pending_boxes = boxes if self._tokenizer is None else None
        _replace_undoably(self.prompt_edit, prompt)  # follows the edit: the selection is reset just below
        _replace_undoably(self.negative_edit, negative)
        if self._parsed is not None:
            self._selection.reset(self._parsed, indices)
            if groups is not None:
                self._bindings.reset(self._parsed, groups)
            else:
                self._bindings.suggest(self._parsed, suggested_pairs(self._parsed))
            self._boxes.reset(self._parsed, boxes)
            self._refresh()
        self.selection_changed.emit()

    def set_word_selected(self, word_index: int, selected: bool) -> None:
        self._on_word_toggled(word_index, selected)

    def clear_selection(self) -> None:
        self._selection.clear()
        self._refresh()
        self.selection_changed.emit()

    def set_excite_enabled(self, enabled: bool) -> None:
        self._excite_on = enabled
        self._refresh()

    # -- reacting to edits ------------------------------------------------------------------------
    def _remember_edit(self, position: int, removed: int, added: int) -> None:
        self._edit_hint = (position, removed, added)

    def _on_text_changed(self) -> None:
        hint, self._edit_hint = self._edit_hint, None
        if self._tokenizer is not None:
            self._parsed = tokenize_prompt(self._tokenizer, self.prompt(), self._vocabulary)
            self._selection.follow_edit(self._parsed, hint)
            if self._bindings.automatic:
                self._bindings.suggest(self._parsed, suggested_pairs(self._parsed))
            else:
                self._bindings.follow_edit(self._parsed, hint)
            self._boxes.follow_edit(self._parsed, hint)
        self._refresh()
        self.prompt_changed.emit()
        self.selection_changed.emit()

    def _on_word_toggled(self, word_index: int, selected: bool) -> None:
        if self._parsed is None or not 0 <= word_index < len(self._parsed.words):
            return
        self._selection.set_word(self._parsed.words[word_index], selected)
        self._refresh()
        self.selection_changed.emit()

    # -- drawing --------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self._refresh_count()
        if self._tokenizer is None or self._parsed is None:
            return
        pairs = self._bindings.pairs(self._parsed)
        placed = self.placed()
        self.token_selector.show_words(self._parsed, self._selection, self._excite_on, pairs,
                                       {index: colour for index, _text, colour, _box in placed})
        self._highlight()
        self.bindings_changed.emit([f"{modifier.text} → {noun.text}" for modifier, noun in pairs])
        self.boxes_changed.emit(placed)

    def _refresh_count(self) -> None:
        if self._parsed is None:
            self.token_count.setText("… tokens")
            return
        used = self._parsed.total_word_tokens
        over = used > MAX_PROMPT_TOKENS
        colour = OVERFLOW_COLOR.name() if over else "palette(mid)"
        suffix = " — the rest is ignored" if over else ""
        self.token_count.setText(f"<span style='color:{colour}'>{used} / {MAX_PROMPT_TOKENS} tokens{suffix}</span>")

    def _highlight(self) -> None:
        """Chosen words get a tinted background; text past the token limit gets a red squiggle."""
        text = self._parsed.prompt
        extras = []
        chosen = QTextCharFormat()
        chosen.setBackground(SELECTED_WORD_COLOR)
        chosen.setForeground(QColor("white"))
        tag_format = QTextCharFormat()  # LoRA tags: not words, so shown quieter
        tag_format.setForeground(TAG_COLOR)
        for tag in find_lora_tags(text):
            extras.append(self._extra(text, tag.start, tag.end, tag_format))
        embedding_format = QTextCharFormat()
        embedding_format.setFontWeight(QFont.Weight.Bold)
        embedding_format.setForeground(EMBEDDING_COLOR)
        for word in self._parsed.words:
            if word.token_indices and self._parsed.tokens[word.token_indices[0] - 1].id == EMBEDDING_TOKEN_ID:
                extras.append(self._extra(text, word.start, word.end, embedding_format))
        for word in self._selection.selected_words(self._parsed):
            extras.append(self._extra(text, word.start, word.end, chosen))
        if self._parsed.overflow_start is not None:
            overflow = QTextCharFormat()
            overflow.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            overflow.setUnderlineColor(OVERFLOW_COLOR)
            overflow.setForeground(QColor("#8a8a8a"))
            overflow.setToolTip(f"Beyond the {MAX_PROMPT_TOKENS}-token limit: the model does not read this.")
            extras.append(self._extra(text, self._parsed.overflow_start, len(text), overflow))
        self.prompt_edit.setExtraSelections(extras)

    def _extra(self, text: str, start: int, end: int, fmt: QTextCharFormat) -> QTextEdit.ExtraSelection:
        cursor = QTextCursor(self.prompt_edit.document())
        cursor.setPosition(_utf16(text, start))
        cursor.setPosition(_utf16(text, end), QTextCursor.MoveMode.KeepAnchor)
        extra = QTextEdit.ExtraSelection()
        extra.cursor = cursor
        extra.format = fmt
        extra.format.setProperty(QTextFormat.Property.FullWidthSelection, False)
        return extra


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("caption")
    return label
