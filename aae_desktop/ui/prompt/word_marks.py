"""The prompt editor's bound pairs (binding) and placed words (boxes): both are kept on words of the
prompt (WordBindings, WordBoxes) and edited from the word list and the preview.

A mixin of PromptEditor, which owns `_parsed`, `_bindings`, `_boxes`, `_refresh` and the signals;
kept apart so the editor stays about text, words and the excite selection.
"""
from __future__ import annotations

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.engine.objectives.box_settings import BoxSettings
from aae_desktop.engine.tokens import Word
from aae_desktop.ui.prompt.binding_suggestion import suggested_pairs
from aae_desktop.ui.prompt.word_boxes import box_colour


class WordMarks:
    # -- bound pairs (binding) ----------------------------------------------------------------------
    def bind_pairs(self) -> list[tuple[Word, Word]]:
        return self._bindings.pairs(self._parsed) if self._parsed else []

    def bind_settings(self, enabled: bool, scale: float, steps: int | None) -> BindSettings:
        """What a run binds: the pairs of this prompt as token indices, with the panel's values.

        Binding off is no binding at all, so a run without it is the request it always was."""
        if not enabled:
            return BindSettings()
        if self._parsed is None:
            return BindSettings(enabled=enabled, scale=scale, steps=steps)
        return self._bindings.settings(self._parsed, enabled, scale, steps)

    def toggle_link(self, modifier_index: int, noun_index: int) -> None:
        """The artist binds a word to a noun, or unbinds it when it already describes that noun."""
        words = self._parsed.words if self._parsed else []
        if 0 <= modifier_index < len(words) and 0 <= noun_index < len(words):
            self._bindings.toggle(words[modifier_index], words[noun_index])
            self._refresh()

    def unlink_word(self, word_index: int) -> None:
        words = self._parsed.words if self._parsed else []
        if 0 <= word_index < len(words):
            self._bindings.unlink(words[word_index])
            self._refresh()

    # -- placed words (boxes) -----------------------------------------------------------------------
    def box_settings(self, enabled: bool, scale: float, steps: int | None) -> BoxSettings:
        """What a run places: each placed word's token indices and box, with the panel's values."""
        if not enabled or self._parsed is None:
            return BoxSettings()
        return self._boxes.settings(self._parsed, enabled, scale, steps)

    def place_box(self, word_index: int, box) -> None:
        words = self._parsed.words if self._parsed else []
        if 0 <= word_index < len(words):
            self._boxes.place(words[word_index], box)
            self._refresh()

    def remove_box(self, word_index: int) -> None:
        words = self._parsed.words if self._parsed else []
        if 0 <= word_index < len(words):
            self._boxes.remove(words[word_index])
            self._refresh()

    def clear_boxes(self) -> None:
        self._boxes.clear()
        self._refresh()

    def placed(self) -> list[tuple[int, str, str, tuple]]:
        """(word index, word, colour, box) per placed word, in prompt order."""
        if self._parsed is None:
            return []
        place = {word: i for i, word in enumerate(self._parsed.words)}
        return [(place[word], word.text, box_colour(n), box)
                for n, (word, box) in enumerate(self._boxes.placed(self._parsed))]

    def _ask_to_place(self, word_index: int) -> None:
        placed = {index: colour for index, _text, colour, _box in self.placed()}
        words = self._parsed.words if self._parsed else []
        if 0 <= word_index < len(words):
            colour = placed.get(word_index, box_colour(len(placed)))
            self.place_requested.emit(word_index, words[word_index].text, colour)

    def suggest_links(self) -> None:
        """Back to the automatic pairs, which follow the prompt again as it is edited."""
        if self._parsed is not None:
            self._bindings.suggest(self._parsed, suggested_pairs(self._parsed))
            self._refresh()

