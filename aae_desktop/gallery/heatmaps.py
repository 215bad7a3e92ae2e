"""Attention heat maps as pictures: per-word maps, colouring, overlay on the image, loss curves per word.

No Qt: the widgets only show the PIL images and numbers made here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from aae_desktop.engine.events import LossRecord
from aae_desktop.engine.request import GenerationRequest

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class WordMap:
    label: str  # the word as written in the prompt
    token_indices: tuple[int, ...]
    attention: np.ndarray  # (h, w) float32, mean over the word's tokens


def word_maps(request: GenerationRequest, maps: dict[int, np.ndarray], tokenizer: Any | None = None) -> list[WordMap]:
    """One map per excited word (a word split into several tokens averages them), prompt order."""
    import numpy as np

    if not maps:
        return []
    groups: list[tuple[str, tuple[int, ...]]] = []
    if tokenizer is not None:
        from aae_desktop.engine.tokens import tokenize_request

        parsed = tokenize_request(tokenizer, request)
        for word in parsed.words:
            present = tuple(i for i in word.token_indices if i in maps)
            if present:
                groups.append((word.text, present))
    grouped = {i for _, idx in groups for i in idx}
    groups += [(f"token {i}", (i,)) for i in sorted(maps) if i not in grouped]
    return [WordMap(label, idx, np.mean([maps[i] for i in idx], axis=0).astype(np.float32)) for label, idx in groups]


def word_peaks(words: list[WordMap], history: list[LossRecord]) -> dict[str, float]:
    """Each word's number under its map: its peak attention as the loss measured it in the run's last
    measurement (the smoothed peak, the same step the map comes from), the weakest of its tokens as
    in the readout under the preview. A word without a measurement gets its map's raw maximum."""
    last = history[-1].token_max_attention if history else {}
    peaks = {}
    for word in words:
        values = [last[t] for t in word.token_indices if t in last]
        peaks[word.label] = min(values) if values else float(word.attention.max())
    return peaks


def _normalise(attention: np.ndarray) -> np.ndarray:
    import numpy as np

    a = np.nan_to_num(np.asarray(attention, dtype=np.float32))
    low, high = float(a.min()), float(a.max())
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def colourise(attention: np.ndarray) -> np.ndarray:
    """(h, w) -> (h, w, 3) uint8 on a black-red-yellow-white ramp (readable on any image)."""
    import numpy as np

    a = _normalise(attention)
    rgb = np.stack([np.clip(a * 3, 0, 1), np.clip(a * 3 - 1, 0, 1), np.clip(a * 3 - 2, 0, 1)], axis=-1)
    return (rgb * 255).astype(np.uint8)


def overlay(image: Image.Image, attention: np.ndarray, opacity: float = 0.6) -> Image.Image:
    """The image with the map stretched over it (smoothly: the maps are 16x16 or so)."""
    import numpy as np

    heat = Image.fromarray(colourise(attention), "RGB").resize(image.size, Image.Resampling.BICUBIC)
    # Strong attention shows through fully, weak attention leaves the image visible.
    alpha = Image.fromarray((_normalise(attention) * 255 * opacity).astype(np.uint8), "L").resize(
        image.size, Image.Resampling.BICUBIC)
    base = image.convert("RGB")
    return Image.composite(heat, base, alpha)


@dataclass(frozen=True)
class LossCurve:
    label: str
    steps: list[int]
    values: list[float]


def loss_curves(history: list[LossRecord], words: list[WordMap] | None = None,
                token_labels: dict[int, str] | None = None) -> list[LossCurve]:
    """Per-word excitation loss over the steps (1 - the word's max attention, as the paper's loss),
    plus the overall loss. The first record of each step is used: the value the step started from,
    before any refinement iterations at that step."""
    first: dict[int, LossRecord] = {}
    for record in history:
        first.setdefault(record.step, record)
    steps = sorted(first)
    if not steps:
        return []
    curves = [LossCurve("loss", steps, [first[s].loss for s in steps])]
    groups = [(w.label, w.token_indices) for w in words] if words else [
        ((token_labels or {}).get(t, f"token {t}"), (t,))
        for t in sorted({t for r in history for t in r.token_max_attention})]
    for label, indices in groups:
        xs, ys = [], []
        for s in steps:
            values = [first[s].token_max_attention[t] for t in indices if t in first[s].token_max_attention]
            if values:
                xs.append(s)
                ys.append(1.0 - max(values))
        if xs:
            curves.append(LossCurve(label, xs, ys))
    return curves
