"""Which words describe which noun (binding), kept on those words while the prompt is edited (no Qt).

Each link joins a modifier word to its noun by their character spans, as WordSelection keeps the
chosen words: typing elsewhere moves the links along, deleting either word drops its link. Until
the artist changes a link by hand the links follow the automatic suggestion (`automatic`); after
that they are the artist's and only move with the text.
"""
from __future__ import annotations

from typing import Iterable

from aae_desktop.engine.objectives.bind_settings import BindSettings, Group
from aae_desktop.engine.tokens import PromptTokens, Word
from aae_desktop.ui.prompt.word_selection import Edit, Span, find_edit, remap_spans, word_at


def _span(word: Word) -> Span:
    return word.start, word.end



class WordBindings:
    def __init__(self) -> None:
        self._text = ""
        self._links: dict[Span, Span] = {}  # modifier span -> noun span
        self.automatic = True  # the links are the suggestion's, redone as the prompt changes

    # -- reading ------------------------------------------------------------------------------------
    def pairs(self, parsed: PromptTokens) -> list[tuple[Word, Word]]:
        """(modifier, noun) for each link whose two words are still in the prompt, in prompt order."""
        found = []
        for modifier_span, noun_span in self._links.items():
            modifier, noun = word_at(parsed, modifier_span), word_at(parsed, noun_span)
            if modifier is not None and noun is not None and modifier != noun:
                found.append((modifier, noun))
        return sorted(found, key=lambda pair: pair[0].start)

    def noun_of(self, parsed: PromptTokens, word: Word) -> Word | None:
        return next((noun for modifier, noun in self.pairs(parsed) if modifier == word), None)

    def modifiers_of(self, parsed: PromptTokens, noun: Word) -> list[Word]:
        return [modifier for modifier, bound in self.pairs(parsed) if bound == noun]

    def nouns(self, parsed: PromptTokens) -> list[Word]:
        """Each bound noun once, in prompt order (its place gives its group colour)."""
        return sorted({noun for _modifier, noun in self.pairs(parsed)}, key=lambda w: w.start)

    def groups(self, parsed: PromptTokens) -> tuple[Group, ...]:
        """The links as the engine takes them: (modifiers' token indices, noun's token indices) per noun."""
        return tuple((tuple(tuple(m.token_indices) for m in self.modifiers_of(parsed, noun)), tuple(noun.token_indices))
                     for noun in self.nouns(parsed))

    def settings(self, parsed: PromptTokens, enabled: bool, scale: float, steps: int | None) -> BindSettings:
        return BindSettings(enabled=enabled, groups=self.groups(parsed), scale=scale,
                            prompt_length=parsed.eot_index, steps=steps)

    # -- changing -----------------------------------------------------------------------------------
    def link(self, modifier: Word, noun: Word) -> None:
        """The artist binds `modifier` to `noun` (a word describes one noun: any earlier link is replaced)."""
        if modifier == noun:
            return
        self._links.pop(_span(noun), None)  # a noun describes nothing itself
        self._links[_span(modifier)] = _span(noun)
        self.automatic = False

    def unlink(self, word: Word) -> None:
        """The artist unbinds `word`: as a modifier, or every modifier of it as a noun."""
        span = _span(word)
        self._links = {m: n for m, n in self._links.items() if m != span and n != span}
        self.automatic = False

    def toggle(self, modifier: Word, noun: Word) -> None:
        if self._links.get(_span(modifier)) == _span(noun):
            self.unlink(modifier)
        else:
            self.link(modifier, noun)

    def suggest(self, parsed: PromptTokens, pairs: Iterable[tuple[Word, Word]]) -> None:
        """Take the suggested pairs and follow the suggestion again as the prompt changes."""
        self._text = parsed.prompt
        self._links = {_span(m): _span(n) for m, n in pairs if m != n}
        self.automatic = True

    def reset(self, parsed: PromptTokens, groups: Iterable[Group]) -> None:
        """Links from token indices (an image's settings restored): the artist's, not the suggestion's."""
        self._text = parsed.prompt
        self._links = {}
        for modifiers, noun_tokens in groups:
            nouns = parsed.words_for_indices(noun_tokens)
            if not nouns:
                continue
            for modifier in parsed.words_for_indices([i for m in modifiers for i in m]):
                if modifier != nouns[0]:
                    self._links[_span(modifier)] = _span(nouns[0])
        self.automatic = False

    def follow_edit(self, parsed: PromptTokens, hint: Edit | None = None) -> None:
        """The prompt changed to `parsed.prompt`: each link moves with its two words, or goes with them."""
        if parsed.prompt == self._text:
            return
        edit = find_edit(self._text, parsed.prompt, hint)
        moved = {}
        for modifier_span, noun_span in self._links.items():
            modifier, noun = remap_spans([modifier_span], edit), remap_spans([noun_span], edit)
            if modifier and noun:
                moved[modifier[0]] = noun[0]
        self._links = moved
        self._text = parsed.prompt
