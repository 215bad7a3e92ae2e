"""The prompt's words as toggle chips: clicking a word chooses it for Attend-and-Excite."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from aae_desktop.engine.tokens import EMBEDDING_TOKEN_ID, PromptTokens, Word
from aae_desktop.ui.prompt.chip_scroll import ChipScroll
from aae_desktop.ui.prompt.flow_layout import FlowContainer
from aae_desktop.ui.prompt.word_selection import WordSelection


def _chip_tooltip(word: Word, parsed: PromptTokens) -> str:
    if not word.token_indices:
        return f"'{word.text}' is beyond the 75-token limit: the model never sees it, so it cannot be excited."
    first = parsed.tokens[word.token_indices[0] - 1]
    if first.id == EMBEDDING_TOKEN_ID:
        count = len(word.token_indices)
        indices = ", ".join(str(i) for i in word.token_indices)
        return (f"'{word.text}' is the embedding {first.text} ({count} vector{'s' if count > 1 else ''}, token "
                f"{'indices' if count > 1 else 'index'} {indices}). Click to excite all of it.")
    pieces = ", ".join(f"'{parsed.tokens[i - 1].text}'" for i in word.token_indices)
    label = "token" if len(word.token_indices) == 1 else "tokens"
    indices = ", ".join(str(i) for i in word.token_indices)
    return (
        f"Click to make sure '{word.text}' appears in the image: Attend-and-Excite strengthens "
        f"the attention on {label} {indices} ({pieces}) during the first denoising steps."
    )


class TokenSelector(QWidget):
    """Shows words; owns no state beyond the chips. The PromptEditor feeds it and listens."""

    word_toggled = Signal(int, bool)  # word index, chosen
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tokenSelector")
        self.setToolTip(
            "The words of your prompt. Chosen words are 'excited': the model is pushed to attend to them, "
            "so subjects that often go missing (the second animal, the small object) show up."
        )
        self._chips: list[QToolButton] = []
        self._state = QLabel()
        self._state.setObjectName("tokenSelectorState")
        self._state.setWordWrap(True)
        clear = QToolButton(text="Clear")
        clear.setObjectName("clearWordsButton")
        clear.setToolTip("Unselect every word.")
        clear.setAutoRaise(True)
        clear.clicked.connect(self.clear_requested)
        self._clear = clear

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._state, 1)
        header.addWidget(clear)
        self._flow = FlowContainer(spacing=5)
        self._chip_area = ChipScroll(self._flow)  # long prompts scroll here instead of growing the window
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self._chip_area)
        self.show_message("Loading the tokenizer…")

    @property
    def chips(self) -> list[QToolButton]:
        return [c for c in self._chips if not c.isHidden()]

    def show_message(self, text: str) -> None:
        for chip in self._chips:
            chip.hide()
        self._chip_area.refresh()
        self._clear.setEnabled(False)
        self._state.setText(text)

    def show_words(self, parsed: PromptTokens, selection: WordSelection, excite_on: bool = True) -> None:
        """Refresh the chips in place (reusing buttons keeps focus and avoids flicker while typing)."""
        words = parsed.words
        while len(self._chips) < len(words):
            self._chips.append(self._new_chip(len(self._chips)))
        chosen = 0
        for chip, word in zip(self._chips, words):
            selected = selection.is_selected(word)
            chosen += selected
            chip.blockSignals(True)
            chip.setText(word.text)
            chip.setChecked(selected)
            chip.setEnabled(bool(word.token_indices))
            chip.setToolTip(_chip_tooltip(word, parsed))
            chip.blockSignals(False)
            chip.show()
        for chip in self._chips[len(words):]:
            chip.hide()
        self._chip_area.refresh()
        self._clear.setEnabled(chosen > 0)
        if not words:
            self._state.setText("Type a prompt: its words appear here to choose from.")
        elif not excite_on:
            self._state.setText("Attend-and-Excite is off: plain Stable Diffusion, chosen words are ignored.")
        elif chosen == 0:
            self._state.setText("<b>Nothing selected</b> — click at least one word the image must show.")
        else:
            names = ", ".join(w.text for w in selection.selected_words(parsed))
            self._state.setText(f"Exciting: <b>{names}</b>")

    def _new_chip(self, index: int) -> QToolButton:
        chip = QToolButton()
        chip.setObjectName("wordChip")
        chip.setCheckable(True)
        chip.setCursor(Qt.CursorShape.PointingHandCursor)
        chip.toggled.connect(lambda checked, i=index: self.word_toggled.emit(i, checked))
        self._flow.add_widget(chip)
        return chip
