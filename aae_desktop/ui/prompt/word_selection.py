"""Which words the artist chose, kept attached to those words while the prompt is edited (no Qt)."""
from __future__ import annotations

from typing import Iterable

from aae_desktop.engine.tokens import PromptTokens, Word

Span = tuple[int, int]
Edit = tuple[int, int, int]  # (position, characters removed, characters added), as QTextDocument reports


def find_edit(old: str, new: str, hint: Edit | None = None) -> Edit:
    """The single edit that turns `old` into `new`.

    The editor's own report (`hint`) is preferred because text alone is ambiguous: deleting the first
    "cat " of "cat cat" looks the same as deleting the second. The hint is checked against the texts
    (Qt counts UTF-16 units, so emoji can shift it) and the common prefix/suffix is the fallback.
    """
    if hint is not None:
        pos, removed, added = hint
        if (
            0 <= pos <= len(old)
            and pos + removed <= len(old)
            and len(new) - len(old) == added - removed
            and old[:pos] == new[:pos]
            and old[pos + removed:] == new[pos + added:]
        ):
            return hint
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, len(old) - prefix - suffix, len(new) - prefix - suffix


def remap_spans(spans: Iterable[Span], edit: Edit) -> list[Span]:
    """Where each span's characters are after the edit.

    A span the edit only trimmed keeps its surviving part (backspacing the last letter of "frogs"
    keeps "frog" chosen); a span the edit removed or replaced entirely is gone.
    """
    pos, removed, added = edit
    cut_end = pos + removed
    delta = added - removed
    moved = []
    for start, end in spans:
        if end <= pos:
            moved.append((start, end))
        elif start >= cut_end:
            # Text inserted exactly in front of a span pushes it along ("black " typed before "cat").
            moved.append((start + delta, end + delta))
        elif start < pos:
            moved.append((start, pos))
        elif end > cut_end:
            moved.append((pos + added, end + delta))
    return moved


class WordSelection:
    """The chosen words of the current prompt, identified by their character spans."""

    def __init__(self) -> None:
        self._text = ""
        self._spans: set[Span] = set()

    @property
    def text(self) -> str:
        return self._text

    def is_selected(self, word: Word) -> bool:
        # Spans are the chosen characters, not whole words: while "black " is typed letter by letter
        # in front of "cat", the word is briefly "bcat", "blcat"..., and "cat" must survive that.
        return any(word.start <= s and e <= word.end for s, e in self._spans)

    def set_word(self, word: Word, selected: bool) -> None:
        self._spans = {(s, e) for s, e in self._spans if not (word.start <= s and e <= word.end)}
        if selected:
            self._spans.add((word.start, word.end))

    def clear(self) -> None:
        self._spans.clear()

    def follow_edit(self, parsed: PromptTokens, hint: Edit | None = None) -> None:
        """The prompt changed to `parsed.prompt`: carry the selection over to the new words."""
        new_text = parsed.prompt
        if new_text == self._text:
            return
        self._spans = set(remap_spans(self._spans, find_edit(self._text, new_text, hint)))
        self._text = new_text

    def reset(self, parsed: PromptTokens, token_indices: Iterable[int] = ()) -> None:
        """A new prompt replaced the old one wholesale (e.g. restored from an image)."""
        self._text = parsed.prompt
        self._spans = {(w.start, w.end) for w in parsed.words_for_indices(token_indices)}

    def selected_words(self, parsed: PromptTokens) -> list[Word]:
        return [w for w in parsed.words if self.is_selected(w)]

    def token_indices(self, parsed: PromptTokens) -> tuple[int, ...]:
        """Every token of every chosen word, in prompt order: what the engine excites."""
        return tuple(i for w in self.selected_words(parsed) for i in w.token_indices)


def word_at(parsed: PromptTokens, span: Span) -> Word | None:
    """The prompt word (one the model reads) holding the characters `span`, if any: where a word kept
    by its characters (a chosen word, a bound pair, a placed word) is now."""
    start, end = span
    return next((w for w in parsed.words if w.start <= start and end <= w.end and w.token_indices), None)
