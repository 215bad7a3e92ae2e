"""The prompt's words as toggle chips: clicking a word chooses it for Attend-and-Excite.

Bound pairs (binding) show as a coloured underline shared by a noun and the words that describe it.
A chip's right-click menu binds it to a noun ("Describes → cat") or unbinds it; the Link button
lets the artist click a describing word, then its noun.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from aae_desktop.engine.objectives.binding_words import could_be_noun
from aae_desktop.engine.tokens import EMBEDDING_TOKEN_ID, PromptTokens, Word
from aae_desktop.ui.prompt.chip_scroll import ChipScroll
from aae_desktop.ui.prompt.flow_layout import FlowContainer
from aae_desktop.ui.prompt.word_selection import WordSelection

# One colour per bound noun, in prompt order; readable on the dark chips and apart from the accent.
GROUP_COLOURS = ("#e8a33d", "#4cc3a5", "#d46fd0", "#7fb2f0", "#e06a6a", "#a6cf4f")


def group_colour(group: int) -> str:
    return GROUP_COLOURS[group % len(GROUP_COLOURS)]


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
    link_toggled = Signal(int, int)  # modifier word index, noun word index: bind, or unbind if bound
    unlink_requested = Signal(int)  # word index: it describes nothing / nothing describes it
    suggest_requested = Signal()  # back to the automatic pairs
    place_requested = Signal(int)  # word index: draw its box on the preview
    unplace_requested = Signal(int)  # word index: remove its box

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tokenSelector")
        self.setToolTip(
            "The words of your prompt. Chosen words are 'excited': the model is pushed to attend to them, "
            "so subjects that often go missing (the second animal, the small object) show up."
        )
        self._chips: list[QToolButton] = []
        self._words: list[Word] = []
        self._noun_of: dict[int, int] = {}  # word index -> the noun's word index (bound pairs)
        self._group_of: dict[int, int] = {}  # word index -> its group's colour number
        self._placed: dict[int, str] = {}  # word index -> its box's colour (placed words)
        self._link_from: int | None = None  # Link mode: the describing word clicked first
        self._shown: tuple | None = None  # the last show_words arguments
        self._state = QLabel()
        self._state.setObjectName("tokenSelectorState")
        self._state.setWordWrap(True)
        clear = QToolButton(text="Clear")
        clear.setObjectName("clearWordsButton")
        clear.setToolTip("Unselect every word.")
        clear.setAutoRaise(True)
        clear.clicked.connect(self.clear_requested)
        self._clear = clear
        self.link_button = QToolButton(text="Link", objectName="linkWordsButton", checkable=True, autoRaise=True)
        self.link_button.setToolTip("Bind attributes by clicking: click a describing word (red), then the noun it "
                                    "belongs to (cat). Click the pair again to unbind. Right-click a word for more.")
        self.link_button.toggled.connect(self._link_mode_changed)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._state, 1)
        header.addWidget(self.link_button)
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
        self._shown = None
        for chip in self._chips:
            chip.hide()
        self._chip_area.refresh()
        self._clear.setEnabled(False)
        self._state.setText(text)

    def show_words(self, parsed: PromptTokens, selection: WordSelection, excite_on: bool = True,
                   pairs: list[tuple[Word, Word]] = (), placed: dict[int, str] | None = None) -> None:
        """Refresh the chips in place (reusing buttons keeps focus and avoids flicker while typing).

        `pairs` are the bound (modifier, noun) words; `placed` maps placed words to their box colour."""
        words = parsed.words
        self._shown = (parsed, selection, excite_on, pairs, placed)
        self._placed = dict(placed or {})
        self._words = list(words)
        place = {word: i for i, word in enumerate(words)}
        self._noun_of = {place[m]: place[n] for m, n in pairs if m in place and n in place}
        nouns = sorted(set(self._noun_of.values()))
        self._group_of = {n: g for g, n in enumerate(nouns)}
        self._group_of.update({m: self._group_of[n] for m, n in self._noun_of.items()})
        while len(self._chips) < len(words):
            self._chips.append(self._new_chip(len(self._chips)))
        chosen = 0
        for index, (chip, word) in enumerate(zip(self._chips, words)):
            selected = selection.is_selected(word)
            chosen += selected
            chip.blockSignals(True)
            chip.setText(word.text)
            chip.setChecked(selected)
            chip.setEnabled(bool(word.token_indices))
            chip.setToolTip(_chip_tooltip(word, parsed) + self._binding_note(index))
            chip.setStyleSheet(self._chip_style(index))
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
        elif self._link_from is not None and self._link_from < len(words):
            self._state.setText(f"Now click the noun <b>{words[self._link_from].text}</b> describes.")
        elif self.link_button.isChecked():
            self._state.setText("Click a describing word, then its noun.")
        elif chosen == 0 and (self._noun_of or self._placed):
            alone = " and ".join(name for name, on in (("binding", self._noun_of), ("boxes", self._placed)) if on)
            self._state.setText(f"Nothing excited: {alone} alone.")  # short: the chips keep their rows
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
        chip.toggled.connect(lambda checked, i=index: self._chip_clicked(i, checked))
        chip.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        chip.customContextMenuRequested.connect(lambda pos, i=index: self._show_menu(i, pos))
        self._flow.add_widget(chip)
        return chip

    # -- binding --------------------------------------------------------------------------------------
    def noun_of(self, index: int) -> int | None:
        """The word index of the noun word `index` describes, if any."""
        return self._noun_of.get(index)

    def _binding_note(self, index: int) -> str:
        if index in self._placed:
            return "\nPlaced in a box: drag it on the preview; right-click here to remove it." + \
                self._pair_note(index)
        return self._pair_note(index)

    def _pair_note(self, index: int) -> str:
        if index in self._noun_of:
            return f"\nDescribes → {self._words[self._noun_of[index]].text} (binding keeps it on that word)."
        described_by = [self._words[m].text for m, n in self._noun_of.items() if n == index]
        if described_by:
            return f"\nDescribed by {', '.join(described_by)} (binding)."
        return ""

    def _chip_style(self, index: int) -> str:
        rules = []
        if index in self._placed:  # a placed word's chip is outlined in its box's colour
            rules.append(f"border: 1px dashed {self._placed[index]};")
        if index in self._group_of:
            rules.append(f"border-bottom: 3px solid {group_colour(self._group_of[index])};")
        return f"QToolButton#wordChip {{ {' '.join(rules)} }}" if rules else ""

    def _chip_clicked(self, index: int, checked: bool) -> None:
        if not self.link_button.isChecked():
            self.word_toggled.emit(index, checked)
            return
        chip = self._chips[index]
        chip.blockSignals(True)
        chip.setChecked(not checked)  # in Link mode a click links; it does not choose the word
        chip.blockSignals(False)
        if self._link_from is None:
            self._link_from = index
            self._state.setText(f"Now click the noun <b>{self._words[index].text}</b> describes.")
            return
        modifier, self._link_from = self._link_from, None
        if modifier != index:
            self.link_toggled.emit(modifier, index)
        else:
            self._state.setText("Click a describing word, then its noun.")

    def _link_mode_changed(self, _on: bool) -> None:
        self._link_from = None
        if self._shown is not None:
            self.show_words(*self._shown)  # the state line says what a click does now

    def _show_menu(self, index: int, pos: QPoint) -> None:
        menu = self.binding_menu(index)
        if menu is not None:
            menu.exec(self._chips[index].mapToGlobal(pos))

    def binding_menu(self, index: int) -> QMenu | None:
        """The chip's menu: which noun the word describes, or none; back to the suggested pairs."""
        if not 0 <= index < len(self._words) or not self._words[index].token_indices:
            return None
        word = self._words[index]
        menu = QMenu(self)
        describes = menu.addMenu("Describes")
        for other, candidate in enumerate(self._words):
            if other == index or not candidate.token_indices or not could_be_noun(candidate.text):
                continue
            action = QAction(f"→ {candidate.text}", describes, checkable=True)
            action.setChecked(self._noun_of.get(index) == other)
            action.triggered.connect(lambda _on=False, noun=other: self.link_toggled.emit(index, noun))
            describes.addAction(action)
        bound = index in self._noun_of or index in self._noun_of.values()
        unlink = menu.addAction(f"Unbind “{word.text}”", lambda: self.unlink_requested.emit(index))
        unlink.setEnabled(bound)
        menu.addAction("Use the suggested pairs", self.suggest_requested.emit)
        menu.addSeparator()
        placed = index in self._placed
        menu.addAction("Move its box…" if placed else "Place…", lambda: self.place_requested.emit(index))
        remove = menu.addAction("Remove its box", lambda: self.unplace_requested.emit(index))
        remove.setEnabled(placed)
        return menu
