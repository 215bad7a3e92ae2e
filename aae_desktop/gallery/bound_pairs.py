"""Bound pairs (SynGen binding, #22) as the heat maps show them: each modifier with its noun, and how
much of the modifier's attention lies where the noun's does.

No Qt: the heat map view only shows the names and numbers made here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from PIL import Image

from aae_desktop.engine.request import GenerationRequest

if TYPE_CHECKING:
    import numpy as np

PAIR_GAP_COLOUR = (27, 29, 34)  # the heat map panel's background, so the gap reads as space


@dataclass(frozen=True)
class BoundPair:
    modifier: str  # the words as written in the prompt, or "token N" without a tokenizer
    noun: str
    modifier_tokens: tuple[int, ...]
    noun_tokens: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.modifier} → {self.noun}"


def bound_pairs(request: GenerationRequest, tokenizer: Any | None = None) -> list[BoundPair]:
    """One pair per bound modifier, in the order of the request's groups; none when binding is off."""
    if not request.bind.active:
        return []
    parsed = None
    if tokenizer is not None:
        from aae_desktop.engine.tokens import tokenize_request

        parsed = tokenize_request(tokenizer, request)

    def name(tokens: tuple[int, ...]) -> str:
        words = parsed.words_for_indices(tokens) if parsed is not None else []
        return " ".join(w.text for w in words) if words else ", ".join(f"token {i}" for i in tokens)

    return [BoundPair(name(modifier), name(noun), tuple(modifier), tuple(noun))
            for modifiers, noun in request.bind.groups for modifier in modifiers]


def word_distribution(maps: dict[int, np.ndarray], tokens: Iterable[int]) -> np.ndarray | None:
    """A word's attention as a distribution over pixels: its tokens' maps summed, normalised to sum 1.
    None when none of its tokens has a map or the maps are all zero."""
    import numpy as np

    present = [maps[i] for i in tokens if i in maps]
    if not present:
        return None
    # Attention is never negative; clipping keeps a stray rounding error from making a "probability" < 0.
    total = np.clip(np.nan_to_num(np.sum(present, axis=0, dtype=np.float64)), 0.0, None)
    mass = float(total.sum())
    return total / mass if mass > 0 else None


def map_overlap(maps: dict[int, np.ndarray], first: Iterable[int], second: Iterable[int]) -> float | None:
    """How much two words' attention lies in the same place: the sum over pixels of the smaller of the
    two distributions (1 = the same place, 0 = disjoint). None when either word has no map."""
    import numpy as np

    p, q = word_distribution(maps, first), word_distribution(maps, second)
    if p is None or q is None:
        return None
    return float(np.minimum(p, q).sum())


def pair_picture(image: Image.Image, maps: dict[int, np.ndarray], pair: BoundPair, opacity: float) -> Image.Image:
    """The modifier's map over the image (left) beside the noun's (right), a thin dark gap between,
    so one picture keeps the two together however the panel lays its pictures out."""
    from aae_desktop.gallery.heatmaps import overlay

    left, right = (overlay(image, word_distribution(maps, tokens), opacity)
                   for tokens in (pair.modifier_tokens, pair.noun_tokens))
    gap = max(image.width // 32, 2)
    out = Image.new("RGB", (left.width + gap + right.width, max(left.height, right.height)), PAIR_GAP_COLOUR)
    out.paste(left, (0, 0))
    out.paste(right, (left.width + gap, 0))
    return out
