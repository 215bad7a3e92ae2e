"""Where each placed word should go (BoxDiff boxes), kept on that word while the prompt is edited (no Qt).

A box is (x0, y0, x1, y1) in 0-1 of the image from its top-left corner, so it keeps its place on
the canvas when the image's size or aspect changes. Boxes are keyed by the word's characters, as
the chosen words are: typing elsewhere moves the key along, deleting the word drops its box.
"""
from __future__ import annotations

from typing import Iterable

from aae_desktop.engine.objectives.box_settings import Box, BoxedWord, BoxSettings
from aae_desktop.engine.tokens import PromptTokens, Word
from aae_desktop.ui.prompt.word_selection import Edit, Span, find_edit, remap_spans, word_at

# The smallest side a box can be dragged or nudged to: 2% of the image, so a box is always grabbable.
MIN_SIDE = 0.02


def clamp_box(box: Box) -> Box:
    """The box inside the image, its corners in order, at least MIN_SIDE on each side."""
    x0, y0, x1, y1 = box
    x0, x1 = sorted((min(max(x0, 0.0), 1.0), min(max(x1, 0.0), 1.0)))
    y0, y1 = sorted((min(max(y0, 0.0), 1.0), min(max(y1, 0.0), 1.0)))
    if x1 - x0 < MIN_SIDE:
        x0, x1 = (x0, x0 + MIN_SIDE) if x0 + MIN_SIDE <= 1.0 else (1.0 - MIN_SIDE, 1.0)
    if y1 - y0 < MIN_SIDE:
        y0, y1 = (y0, y0 + MIN_SIDE) if y0 + MIN_SIDE <= 1.0 else (1.0 - MIN_SIDE, 1.0)
    return x0, y0, x1, y1


def moved_box(box: Box, dx: float, dy: float) -> Box:
    """The box shifted by (dx, dy), stopped at the image's edges with its size kept."""
    x0, y0, x1, y1 = box
    dx = min(max(dx, -x0), 1.0 - x1)
    dy = min(max(dy, -y0), 1.0 - y1)
    return x0 + dx, y0 + dy, x1 + dx, y1 + dy



class WordBoxes:
    def __init__(self) -> None:
        self._text = ""
        self._boxes: dict[Span, Box] = {}

    def placed(self, parsed: PromptTokens) -> list[tuple[Word, Box]]:
        """(word, box) for each box whose word is still in the prompt, in prompt order."""
        found = [(word, box) for span, box in self._boxes.items() if (word := word_at(parsed, span)) is not None]
        return sorted(found, key=lambda item: item[0].start)

    def box_of(self, parsed: PromptTokens, word: Word) -> Box | None:
        return next((box for placed, box in self.placed(parsed) if placed == word), None)

    def place(self, word: Word, box: Box) -> None:
        """Give `word` this box (a word has one box: a new one replaces it)."""
        self._boxes = {span: b for span, b in self._boxes.items() if not (word.start <= span[0] and span[1] <= word.end)}
        self._boxes[(word.start, word.end)] = clamp_box(box)

    def remove(self, word: Word) -> None:
        self._boxes = {span: b for span, b in self._boxes.items() if not (word.start <= span[0] and span[1] <= word.end)}

    def clear(self) -> None:
        self._boxes.clear()

    def settings(self, parsed: PromptTokens, enabled: bool, scale: float, steps: int | None) -> BoxSettings:
        boxes: tuple[BoxedWord, ...] = tuple((tuple(w.token_indices), box) for w, box in self.placed(parsed))
        return BoxSettings(enabled=enabled, boxes=boxes, scale=scale, prompt_length=parsed.eot_index, steps=steps)

    def reset(self, parsed: PromptTokens, boxes: Iterable[BoxedWord] = ()) -> None:
        """Boxes from token indices (an image's settings restored)."""
        self._text = parsed.prompt
        self._boxes = {}
        for tokens, box in boxes:
            words = parsed.words_for_indices(tokens)
            if words:
                self._boxes[(words[0].start, words[0].end)] = clamp_box(box)

    def follow_edit(self, parsed: PromptTokens, hint: Edit | None = None) -> None:
        """The prompt changed to `parsed.prompt`: each box moves with its word, or goes with it."""
        if parsed.prompt == self._text:
            return
        edit = find_edit(self._text, parsed.prompt, hint)
        moved = {}
        for span, box in self._boxes.items():
            new = remap_spans([span], edit)
            if new:
                moved[new[0]] = box
        self._boxes = moved
        self._text = parsed.prompt


# One colour per placed word, in prompt order (apart from the binding underlines' colours).
BOX_COLOURS = ("#ff8a5c", "#5cc8ff", "#ffd15c", "#b48cff", "#7ee081", "#ff6fa8")


def box_colour(order: int) -> str:
    return BOX_COLOURS[order % len(BOX_COLOURS)]
