"""Capture of the cross-attention maps the excite loss reads, and nothing more.

Only the cross-attention layers whose spatial grid equals the loss grid get a capturing
processor; it computes explicit attention probabilities only while a gradient forward is
running, and otherwise delegates to the layer's original (SDPA) processor. After the last
such layer has recorded its map, the forward is stopped: nothing after it can affect the loss.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from aae_desktop.engine.errors import InvalidRequest

# Order the reference aggregates in ("up", "down", "mid"); keeping it keeps the float sums identical.
AGGREGATION_ORDER = ("up", "down", "mid")


class StopForward(Exception):
    """Raised inside the UNet once every map the loss needs has been captured."""


def _halve(size: int) -> int:
    # A stride-2, padding-1, kernel-3 convolution maps n to ceil(n / 2).
    return math.ceil(size / 2)


def level_grids(unet: Any, latent_h: int, latent_w: int) -> list[tuple[int, int]]:
    """Spatial (h, w) of each UNet level: level i is where down_blocks[i] runs."""
    grids = [(latent_h, latent_w)]
    for block in unet.down_blocks[:-1]:
        h, w = grids[-1]
        grids.append((_halve(h), _halve(w)) if getattr(block, "downsamplers", None) else (h, w))
    return grids


def cross_attention_grids(unet: Any, latent_h: int, latent_w: int) -> dict[str, tuple[tuple[int, int], str]]:
    """Processor name -> ((h, w), place) for every cross-attention layer, in execution order."""
    grids = level_grids(unet, latent_h, latent_w)
    levels = len(grids)
    result: dict[str, tuple[tuple[int, int], str]] = {}
    for name in unet.attn_processors:
        if ".attn2." not in name:
            continue
        parts = name.split(".")
        if parts[0] == "down_blocks":
            result[name] = (grids[int(parts[1])], "down")
        elif parts[0] == "mid_block":
            result[name] = (grids[-1], "mid")
        elif parts[0] == "up_blocks":
            result[name] = (grids[levels - 1 - int(parts[1])], "up")
    return result


def default_loss_grid(unet: Any, latent_h: int, latent_w: int, level: int | None = 2) -> tuple[int, int]:
    """The grid of the UNet level the loss reads (a family's `loss_level`).

    An index counts levels from the latent grid (the paper: 2, i.e. 16x16 maps for 64x64 latents);
    None is the lowest-resolution level that has any cross-attention (SDXL: 32x32 for 128x128).
    """
    grids = level_grids(unet, latent_h, latent_w)
    if level is not None:
        return grids[min(level, len(grids) - 1)]
    with_attention = {grid for grid, _ in cross_attention_grids(unet, latent_h, latent_w).values()}
    for grid in reversed(grids):
        if grid in with_attention:
            return grid
    raise InvalidRequest("This UNet has no cross-attention layer, so Attend-and-Excite cannot read its attention.")


@dataclass
class CaptureState:
    """Shared by the capturing processors of one run."""

    grid: tuple[int, int]
    expected: int
    active: bool = False
    maps: dict[str, list[torch.Tensor]] = field(default_factory=lambda: {p: [] for p in AGGREGATION_ORDER})
    captured: int = 0

    def begin(self) -> None:
        self.maps = {p: [] for p in AGGREGATION_ORDER}
        self.captured = 0
        self.active = True

    def end(self) -> None:
        self.active = False

    def record(self, place: str, probs: torch.Tensor) -> None:
        self.maps[place].append(probs)
        self.captured += 1
        if self.captured == self.expected:
            raise StopForward

    def aggregate(self) -> torch.Tensor:
        """Mean over heads and layers: (h, w, text_len), in fp32 for the loss maths."""
        h, w = self.grid
        pieces = [m.reshape(-1, h, w, m.shape[-1]) for p in AGGREGATION_ORDER for m in self.maps[p]]
        stacked = torch.cat(pieces, dim=0).float()
        return stacked.sum(0) / stacked.shape[0]


class CapturingCrossAttnProcessor:
    """Explicit attention probabilities for one cross-attention layer, only while capturing."""

    def __init__(self, state: CaptureState, place: str, fallback: Any):
        self.state = state
        self.place = place
        self.fallback = fallback

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        if not self.state.active:
            return self.fallback(attn, hidden_states, encoder_hidden_states, attention_mask, *args, **kwargs)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        # The probabilities the loss reads are computed in fp32 whatever the model's dtype: the
        # loss sharpens them (softmax x100 over the words), which would magnify fp16/bf16 rounding.
        query = attn.head_to_batch_dim(attn.to_q(hidden_states)).float()
        key = attn.head_to_batch_dim(attn.to_k(context)).float()
        probs = attn.get_attention_scores(query, key, None)
        self.state.record(self.place, probs)  # raises StopForward after the last needed layer
        value = attn.head_to_batch_dim(attn.to_v(context))
        out = attn.batch_to_head_dim(torch.bmm(probs.to(value.dtype), value))
        return attn.to_out[1](attn.to_out[0](out))


@contextmanager
def attention_capture(unet: Any, latent_h: int, latent_w: int, grid: tuple[int, int] | None = None,
                      level: int | None = 2) -> Iterator[CaptureState]:
    """Install capturing processors for the loss grid (`grid`, else the `level`'s); always restore the originals."""
    layers = cross_attention_grids(unet, latent_h, latent_w)
    grid = tuple(grid) if grid else default_loss_grid(unet, latent_h, latent_w, level)
    chosen = {name: place for name, (g, place) in layers.items() if g == grid}
    if not chosen:
        available = sorted({g for g, _ in layers.values()}, reverse=True)
        names = ", ".join(f"{h}x{w}" for h, w in available) or "none"
        raise InvalidRequest(f"{{field}} {grid[0]}x{grid[1]} matches no cross-attention layer at this image size; "
                             f"available: {names}.", "excite.attn_res")
    state = CaptureState(grid=grid, expected=len(chosen))
    original = unet.attn_processors
    replaced = dict(original)
    for name, place in chosen.items():
        replaced[name] = CapturingCrossAttnProcessor(state, place, original[name])
    unet.set_attn_processor(replaced)
    try:
        yield state
    finally:
        state.end()
        unet.set_attn_processor(original)
