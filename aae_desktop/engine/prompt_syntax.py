"""A1111's `<lora:NAME:WEIGHT>` prompt tags: find them, strip them before tokenizing, edit their weights.

Pure text functions (no torch, no Qt): the window keeps its LoRA list and the prompt text in sync
through them, the CLI adds `--lora` through them and the engine strips the tags with them. Character
positions always refer to the prompt as the artist typed it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# NAME may contain spaces and subfolders (a/b), not colons; what follows it is A1111's parameters:
# positional `TE:UNET:DYN` and/or named `te=`, `unet=`, `dyn=` (DyLoRA's dimension, which diffusers'
# LoRA loader has no use for and we ignore, as for `<lyco:...>` tags' extra parameters).
_TAG = re.compile(r"<\s*(lora|lyco)\s*:\s*([^:<>]+?)\s*(?::([^<>]*))?>", re.IGNORECASE)

DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float  # the text encoder's multiplier (A1111's first number), and the UNet's unless given
    start: int  # character span of the whole tag in the prompt
    end: int
    weight_text: str  # as typed ("" when omitted); a weight that is not a number is reported, not guessed
    unet_weight: float | None = None  # A1111's second number / `unet=`; None when omitted (= weight)
    unet_weight_text: str = ""

    @property
    def unet(self) -> float:
        """The UNet's multiplier in effect."""
        return self.weight if self.unet_weight is None else self.unet_weight


def find_lora_tags(prompt: str) -> list[LoraTag]:
    """Every `<lora:...>` tag in order. A weight that is not a number is nan."""
    tags = []
    for match in _TAG.finditer(prompt):
        te_text, unet_text = _weight_texts(match.group(3) or "")
        tags.append(LoraTag(match.group(2).strip(), _weight(te_text), match.start(), match.end(), te_text,
                            _weight(unet_text) if unet_text else None, unet_text))
    return tags


def _weight_texts(parameters: str) -> tuple[str, str]:
    """(TE, UNET) as typed, from A1111's `TE:UNET` and/or `te=TE:unet=UNET` ("" when omitted)."""
    positional, named = [], {}
    for part in parameters.split(":"):
        key, equals, value = part.partition("=")
        if equals:
            named[key.strip().lower()] = value.strip()
        else:
            positional.append(part.strip())
    te = named.get("te", positional[0] if positional else "")
    unet = named.get("unet", positional[1] if len(positional) > 1 else "")
    return te, unet


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


def format_tag(name: str, weight: float, unet_text: str = "") -> str:
    """`<lora:NAME:W>`, or A1111's positional two-weight form `<lora:NAME:TE:UNET>` when `unet_text` is given."""
    unet = f":{unet_text}" if unet_text else ""
    return f"<lora:{name}:{format_weight(weight)}{unet}>"


def set_tag_weight(prompt: str, name: str, weight: float) -> str:
    """The prompt with every tag of `name` set to text-encoder weight `weight` (a separate UNet weight
    is kept: one number cannot say both); a tag is appended if there is none."""
    tags = [t for t in find_lora_tags(prompt) if t.name.lower() == name.lower()]
    if not tags:
        return add_tag(prompt, name, weight)
    for tag in reversed(tags):
        # The UNet weight as typed (even one that is not a number: validation names it, nothing is lost).
        prompt = prompt[:tag.start] + format_tag(tag.name, weight, tag.unet_weight_text) + prompt[tag.end:]
    return prompt


def add_tag(prompt: str, name: str, weight: float) -> str:
    """Append a tag after a space: `... <lora:NAME:W>`.

    Adding a LoRA must leave the words CLIP reads as they were: the tag is taken out before the text
    encoder sees the prompt, but a ", " put before it would stay ("a cat," is another prompt than
    "a cat"), so `--lora` and the Add menu would give another image than the same tag typed by hand.
    """
    stripped = prompt.rstrip()
    return stripped + (" " if stripped else "") + format_tag(name, weight)


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
