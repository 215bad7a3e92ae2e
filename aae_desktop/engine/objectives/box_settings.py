"""What a request asks of boxes (BoxDiff): which word belongs inside which box, and how hard to push.

A box is (x0, y0, x1, y1) in 0-1 of the image from its top-left corner; on the attention grid it
becomes the cells round(x0 * w) .. round(x1 * w) - 1 (Python's round, as the BoxDiff pipeline
rounds). A word is the token indices of one prompt word (several when the tokenizer splits it).
Kept apart from request.py so that module stays small.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aae_desktop.engine.run.schedule import automatic_max_iter_to_alter

Word = tuple[int, ...]
Box = tuple[float, float, float, float]
BoxedWord = tuple[Word, Box]

# The BoxDiff pipeline's defaults: its step size (the excite schedule's 20), the top share P of a
# map's cells the inner and outer terms average, and the corner band L cells each side of an edge.
DEFAULT_BOX_SCALE = 20.0
DEFAULT_P = 0.2
DEFAULT_L = 1


@dataclass(frozen=True)
class BoxSettings:
    """Boxed words; `scale` is the step size when boxes run without exciting."""

    enabled: bool = False
    boxes: tuple[BoxedWord, ...] = field(default_factory=tuple)
    scale: float = DEFAULT_BOX_SCALE
    p: float = DEFAULT_P
    l: int = DEFAULT_L  # noqa: E741 - the paper's name
    # The end-of-text index of the prompt the words were chosen on (prompt tokens are 1 .. this - 1);
    # the box loss's text softmax stops there (the pipeline's normalize_eot, on by default).
    prompt_length: int = 0
    # Denoising steps boxes update on when no word is excited; None is the pipeline's default, the
    # first half (25 of 50, scaled with the step count as the excite schedule is).
    steps: int | None = None

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.boxes)

    def steps_for(self, total_steps: int) -> int:
        """How many of `total_steps` denoising steps boxes alone update on."""
        return automatic_max_iter_to_alter(total_steps) if self.steps is None else min(self.steps, total_steps)

    def all_tokens(self) -> tuple[int, ...]:
        return tuple(i for word, _box in self.boxes for i in word)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"enabled": self.enabled, "scale": self.scale, "p": self.p, "l": self.l,
                                "prompt_length": self.prompt_length,
                                "boxes": [{"word": list(word), "box": list(box)} for word, box in self.boxes]}
        if self.steps is not None:
            data["steps"] = self.steps
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "BoxSettings":
        """Reads what to_dict wrote; a missing or empty value (older files) is no boxes."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise TypeError("boxes is not a set of named values")
        items = data.get("boxes") or ()
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise TypeError("boxes is not a list of words with their boxes")
        boxes = tuple((_word(item.get("word")), _box(item.get("box"))) for item in items)
        steps, l = data.get("steps"), data.get("l", DEFAULT_L)
        for name, value in (("steps", steps), ("l", l)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"box {name} is not a whole number")
        return cls(enabled=bool(data.get("enabled", False)), boxes=boxes,
                   scale=float(data.get("scale", DEFAULT_BOX_SCALE)), p=float(data.get("p", DEFAULT_P)), l=l,
                   prompt_length=int(data.get("prompt_length", 0)), steps=steps)


def _word(value: Any) -> Word:
    if isinstance(value, bool) or not isinstance(value, (list, tuple)) or not value:
        raise TypeError("a boxed word is not a list of token indices")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TypeError("a boxed word's token indices are not whole numbers")
    return tuple(value)


def _box(value: Any) -> Box:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise TypeError("a box is not four numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise TypeError("a box's corners are not numbers")
    x0, y0, x1, y1 = (float(v) for v in value)
    return x0, y0, x1, y1


def grid_cells(box: Box, grid: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in cells of an (h, w) grid, end exclusive: round(b * side) clamped to the grid."""
    h, w = grid
    x0, y0, x1, y1 = box
    return (min(max(round(x0 * w), 0), w), min(max(round(y0 * h), 0), h),
            min(max(round(x1 * w), 0), w), min(max(round(y1 * h), 0), h))


def box_problem(settings: BoxSettings, prompt_length: int) -> str | None:
    """One sentence saying what is wrong with the boxes, or None (the grid is checked by box_grid_problem).

    `prompt_length` is the end-of-text index: prompt tokens are 1 .. prompt_length - 1.
    """
    if not math.isfinite(settings.scale) or settings.scale < 0:
        return f"The box scale must be a finite number, 0 or more (got {settings.scale})."
    if not 0 < settings.p <= 1:  # also refuses NaN
        return f"The box share P must be more than 0 and at most 1 (got {settings.p})."
    if settings.l < 0:
        return f"The box corner band L must be 0 or more (got {settings.l})."
    if settings.steps is not None and settings.steps < 0:
        return f"Box steps must be 0 or more (got {settings.steps})."
    seen: dict[int, Word] = {}
    for word, box in settings.boxes:
        for i in word:
            if i < 1 or i >= prompt_length:
                return f"Token index {i} is outside the prompt (its words are tokens 1 to {prompt_length - 1})."
            if i in seen:
                return f"The word at tokens {list(seen[i])} has two boxes; keep one."
        seen.update((i, word) for i in word)
        x0, y0, x1, y1 = box
        if not all(0.0 <= v <= 1.0 for v in box):  # also refuses NaN
            return f"The box of tokens {list(word)} has a corner outside the image: {list(box)} (use 0 to 1)."
        if x1 <= x0 or y1 <= y0:
            return (f"The box of tokens {list(word)} must have its right edge right of its left and its bottom "
                    f"below its top (got x0 {x0}, y0 {y0}, x1 {x1}, y1 {y1}).")
    return None


def box_grid_problem(settings: BoxSettings, grid: tuple[int, int]) -> str | None:
    """A box that covers no whole cell of the (h, w) attention grid, said with the size that would work."""
    h, w = grid
    for word, box in settings.boxes:
        x0, y0, x1, y1 = grid_cells(box, grid)
        if x1 - x0 < 1 or y1 - y0 < 1:
            # A little over one cell's share: with rounding, exactly one cell can still round to none.
            need_w, need_h = math.ceil(110 / w) / 100, math.ceil(110 / h) / 100
            return (f"The box of tokens {list(word)} is smaller than one cell of the {w} x {h} attention grid: "
                    f"make it at least {need_w:g} wide and {need_h:g} tall.")
    return None
