"""Boxes (BoxDiff, #23) as words: 'cat:0,0.3,0.5,1; frog:0.5,0.3,1,1' <-> BoxSettings' token indices.

One form for `render --box` (one item per flag) and the PNG's `AAE boxes` text (items joined by
'; ', as the coordinates hold commas). Coordinates are 0-1 of the image from its top-left corner.
A word the prompt holds twice is matched as `--tokens` matches it: each mention takes the first
occurrence not yet taken, so 'cat:...; cat:...' places both cats, in prompt order.
Qt-free and model-free: the CLI and the A1111 reader share it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aae_desktop.engine.objectives.box_settings import DEFAULT_BOX_SCALE, Box, BoxedWord, BoxSettings, box_problem
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import PromptTokens

EXAMPLE = "cat:0,0.3,0.5,1"


def parse_box_item(text: str) -> tuple[str, Box]:
    """'cat:0,0.3,0.5,1' -> ('cat', (0.0, 0.3, 0.5, 1.0)); InvalidRequest for any other shape
    (the range of the numbers is box_problem's to check, so its sentence names what is wrong)."""
    name, sep, numbers = text.strip().rpartition(":")
    parts = numbers.split(",")
    try:
        if not sep or not name.strip() or len(parts) != 4:
            raise ValueError
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise InvalidRequest(f"'{text.strip()}' should look like WORD:x0,y0,x1,y1 with corners in 0-1 from the "
                             f"top left, e.g. {EXAMPLE}.") from None
    return name.strip(), (x0, y0, x1, y1)


def parse_box_words(text: str) -> list[tuple[str, Box]]:
    """The `AAE boxes` text, 'cat:0,0.3,0.5,1; frog:0.5,0.3,1,1', item by item."""
    return [parse_box_item(part) for part in text.split(";") if part.strip()]


def boxes_for_words(parsed: PromptTokens, items: Sequence[tuple[str, Box]]) -> tuple[BoxedWord, ...]:
    """Each named word's token indices (all of them, for a word split into several tokens) with its box.

    Raises InvalidRequest for a word not in the prompt and for more boxes of a word than the prompt
    holds it (two boxes for one word)."""
    used: set[int] = set()
    boxed: list[BoxedWord] = []
    for name, box in items:
        wanted = name.lower()
        found = [w for w in parsed.words if w.text.lower() == wanted and w.token_indices]
        if not found:
            parsed.indices_for_words([name])  # raises the engine's sentence (not in the prompt / past the limit)
        free = [w for w in found if w.index not in used]
        if not free:
            times = "once" if len(found) == 1 else f"{len(found)} times"
            raise InvalidRequest(f"'{name}' has more boxes than the prompt holds it ({times}): one box per word.")
        used.add(free[0].index)
        boxed.append((free[0].token_indices, box))
    return tuple(boxed)


def box_text(settings: BoxSettings, parsed: PromptTokens) -> str | None:
    """'cat:0,0.3,0.5,1; frog:0.5,0.3,1,1' for active boxes; None when there are none or a boxed word
    is not one whole word of the prompt (the aae chunk's token indices still say it exactly).

    The boxes keep their order, except that the boxes of a repeated word are written in prompt order,
    so that reading the text back (first free occurrence) gives each occurrence its own box."""
    if not settings.active:
        return None
    words = {w.token_indices: w for w in parsed.words if w.token_indices}
    if any(word not in words for word, _box in settings.boxes):
        return None
    by_name: dict[str, list[tuple[int, Box]]] = {}
    for word, box in settings.boxes:
        by_name.setdefault(words[word].text.lower(), []).append((words[word].index, box))
    for mentions in by_name.values():
        mentions.sort(key=lambda mention: mention[0])
    parts = []
    for word, _box in settings.boxes:
        index, box = by_name[words[word].text.lower()].pop(0)
        parts.append(f"{parsed.words[index].text}:" + ",".join(_number(v) for v in box))
    return "; ".join(parts)


def box_fields(settings: BoxSettings, words: str | None) -> list[tuple[str, Any]]:
    """A1111 `AAE boxes` (the words), with `AAE box scale` and `AAE box steps` when not the defaults."""
    if not settings.active or not words:
        return []
    fields: list[tuple[str, Any]] = [("AAE boxes", words)]
    if settings.scale != DEFAULT_BOX_SCALE:
        fields.append(("AAE box scale", f"{settings.scale:g}"))
    if settings.steps is not None:
        fields.append(("AAE box steps", settings.steps))
    return fields


def boxes_from_params(params: Mapping[str, str], prompt: str, tokenizer: Any | None) -> BoxSettings:
    """`AAE boxes` back to token indices with the same word -> token code as --box (an image whose aae
    chunk is lost still places its words). Without a tokenizer the bundled CLIP one reads the words.
    Anything unreadable or impossible (a word not in the prompt, a corner outside 0-1) is no boxes."""
    text = params.get("AAE boxes", "").strip()
    if not text:
        return BoxSettings()
    from aae_desktop.engine.tokens import load_tokenizer, tokenize_prompt

    try:
        parsed = tokenize_prompt(tokenizer or load_tokenizer(), prompt)
        boxes = boxes_for_words(parsed, parse_box_words(text))
    except (InvalidRequest, OSError):
        return BoxSettings()
    scale = _read(params.get("AAE box scale"))
    steps = _read(params.get("AAE box steps"))
    settings = BoxSettings(enabled=True, boxes=boxes, prompt_length=parsed.eot_index,
                           scale=DEFAULT_BOX_SCALE if scale is None or scale < 0 else scale,
                           steps=int(steps) if steps is not None and steps.is_integer() and 0 <= steps < 10_000 else None)
    return BoxSettings() if box_problem(settings, parsed.eot_index) else settings


def _read(text: str | None) -> float | None:
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _number(value: float) -> str:
    """The shortest text that reads back to the same float ('0', '0.3', '0.123456789')."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
