"""A1111's `<lora:NAME:WEIGHT>` prompt tags: find them, strip them before tokenizing, edit their weights.

Pure text functions (no torch, no Qt): the window keeps its LoRA list and the prompt text in sync
through them, the CLI adds `--lora` through them and the engine strips the tags with them. Character
positions always refer to the prompt as the artist typed it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# A1111 also writes `<lora:NAME:TE:UNET>` (separate text-encoder and UNet weights) and `<lyco:...>`;
# we read the first weight as the LoRA's weight. NAME may contain spaces and subfolders (a/b).
_TAG = re.compile(r"<\s*(lora|lyco)\s*:\s*([^:<>]+?)\s*(?::\s*([^:<>]*?)\s*)?(?::[^<>]*)?>", re.IGNORECASE)

DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float
    start: int  # character span of the whole tag in the prompt
    end: int
    weight_text: str  # as typed ("" when omitted); a weight that is not a number is reported, not guessed


def find_lora_tags(prompt: str) -> list[LoraTag]:
    """Every `<lora:...>` tag in order. A tag whose weight is not a number gets weight nan."""
    tags = []
    for match in _TAG.finditer(prompt):
        weight_text = (match.group(3) or "").strip()
        tags.append(LoraTag(match.group(2).strip(), _weight(weight_text), match.start(), match.end(), weight_text))
    return tags


def _weight(text: str) -> float:
    if not text:
        return DEFAULT_WEIGHT
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def strip_lora_tags(prompt: str) -> tuple[str, list[int]]:
    """The prompt without its LoRA tags, and for each character kept its position in `prompt`.

    The tags vanish without a trace (as in A1111): the words around them keep their own spacing.
    """
    kept: list[int] = []
    last = 0
    for tag in find_lora_tags(prompt):
        kept.extend(range(last, tag.start))
        last = tag.end
    kept.extend(range(last, len(prompt)))
    return "".join(prompt[i] for i in kept), kept


def format_weight(weight: float) -> str:
    """0.8 -> '0.8', 1 -> '1', 0.333333 -> '0.33' (what a person would type)."""
    return f"{round(weight, 2):g}"


def format_tag(name: str, weight: float) -> str:
    return f"<lora:{name}:{format_weight(weight)}>"


def set_tag_weight(prompt: str, name: str, weight: float) -> str:
    """The prompt with every tag of `name` set to `weight`; a tag is appended if there is none."""
    tags = [t for t in find_lora_tags(prompt) if t.name.lower() == name.lower()]
    if not tags:
        return add_tag(prompt, name, weight)
    for tag in reversed(tags):
        prompt = prompt[:tag.start] + format_tag(tag.name, weight) + prompt[tag.end:]
    return prompt


def add_tag(prompt: str, name: str, weight: float) -> str:
    """Append a tag the way artists paste them: `..., <lora:NAME:W>`."""
    stripped = prompt.rstrip()
    separator = "" if not stripped else (" " if stripped.endswith(",") else ", ")
    return stripped + separator + format_tag(name, weight)


def remove_tag(prompt: str, name: str) -> str:
    """The prompt without any tag of `name`, and without the comma and space that led to it."""
    for tag in reversed([t for t in find_lora_tags(prompt) if t.name.lower() == name.lower()]):
        start = tag.start
        before = prompt[:start].rstrip()
        if before.endswith(","):
            start = len(before) - 1
        elif before and prompt[tag.end:tag.end + 1] in (",", ""):
            start = len(before)
        prompt = prompt[:start] + prompt[tag.end:]
    return prompt if prompt.strip() else ""
