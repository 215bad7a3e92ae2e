"""Boxes (BoxDiff, Xie et al., ICCV 2023) as an attention objective: each boxed word's map should
be strong inside its box, weak outside it, and its edges should sit on the box's edges.

The maths follows diffusers' community BoxDiff pipeline (our reference for its defaults):
- a token's map is its column of the x100 text softmax over the prompt's words, the softmax stopping
  at the end-of-text token (the pipeline's normalize_eot, on by default), Gaussian-smoothed as
  Attend-and-Excite smooths it (3x3, sigma 0.5, reflection);
- the box in cells is round(b * side), clamped to the grid (grid_cells);
- inner = the mean of the top P share (floor(P * cells)) of the map's values inside the box;
  outer = the same outside it; the word's terms are max(0, 1 - inner) + max(0, outer);
- corners: the map's per-column maxima against the box's projection on x (1 over the box's columns),
  |difference| kept within L cells of the box's left edge x0 and of x1 (the exclusive end, as the
  pipeline indexes it), averaged over the columns; the same on y with the rows;
- the loss is the sum of every word's four terms.
Deliberate differences: a word of several tokens constrains each of its tokens (its terms add, as if
each token were a phrase with the word's box); a share that rounds to no cell takes one (the
pipeline's mean of none is NaN); the y corner band is clipped at the grid's height (the pipeline
clips it at the width, the same on its square grids).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from aae_desktop.engine.run import excite_maths as maths
from aae_desktop.engine.objectives.box_settings import BoxedWord, grid_cells
from aae_desktop.engine.objectives.base import AttentionMaps, MapNeeds, ObjectiveLoss

if TYPE_CHECKING:
    from aae_desktop.engine.request import GenerationRequest

NAME = "boxes"


@dataclass(frozen=True)
class BoxTerms:
    """One token's four terms, before the sum: inner and outer are the top-P means themselves."""

    inner: torch.Tensor
    outer: torch.Tensor
    corner_x: torch.Tensor
    corner_y: torch.Tensor

    def loss(self) -> torch.Tensor:
        return torch.clamp(1.0 - self.inner, min=0) + torch.clamp(self.outer, min=0) + self.corner_x + self.corner_y


def top_share_mean(values: torch.Tensor, p: float) -> torch.Tensor:
    """Mean of the largest floor(p * n) of `values` (1-d), at least one value.

    The count is taken in fp32 as the pipeline takes it ((mask.sum() * P).long()): 25 cells at 0.2 is 5.
    """
    count = int(torch.tensor(float(values.numel()), dtype=torch.float32) * p)
    return values.topk(max(count, 1)).values.mean()


def box_terms(image: torch.Tensor, cells: tuple[int, int, int, int], p: float, l: int) -> BoxTerms:  # noqa: E741
    """The terms of one (h, w) map (already smoothed) against a box in cells (x0, y0, x1, y1), end exclusive."""
    h, w = image.shape
    x0, y0, x1, y1 = cells
    inside = torch.zeros(h, w, dtype=torch.bool, device=image.device)
    inside[y0:y1, x0:x1] = True
    inner = top_share_mean(image[inside], p)
    outer = top_share_mean(image[~inside], p) if (~inside).any() else image.sum() * 0
    return BoxTerms(inner, outer, _corner(image.amax(dim=0), x0, x1, l), _corner(image.amax(dim=1), y0, y1, l))


def _corner(peaks: torch.Tensor, start: int, end: int, l: int) -> torch.Tensor:  # noqa: E741
    """Mean over the axis of |peak - box projection|, counted only within l cells of start and of end."""
    n = peaks.shape[0]
    projection = torch.zeros(n, dtype=peaks.dtype, device=peaks.device)
    projection[start:end] = 1.0
    band = torch.zeros(n, dtype=peaks.dtype, device=peaks.device)
    for edge in (start, end):
        band[max(edge - l, 0):min(edge + l + 1, n)] = 1.0
    return ((peaks - projection).abs() * band).mean()


@dataclass(frozen=True)
class BoxObjective:
    """Sum over boxed words and their tokens of BoxTerms.loss (see the module doc).

    `text_stop` is where the box loss's text softmax ends (the end-of-text index; None: SD 1.x's
    drop-the-last-position). Its readout is, per boxed word, the mean over its tokens of `inner`.
    """

    boxes: tuple[BoxedWord, ...]
    text_stop: int | None
    p: float = 0.2
    l: int = 1  # noqa: E741
    smoothed: bool = True
    kernel_size: int = 3
    sigma: float = 0.5
    name: str = NAME

    def needs(self) -> MapNeeds:
        return MapNeeds(tuple(i for word, _ in self.boxes for i in word), self.smoothed)

    def loss(self, maps: AttentionMaps) -> ObjectiveLoss:
        total = None
        readout = []
        for word, box in self.boxes:
            token_maps = maps.token_maps_until(word, self.text_stop)
            if self.smoothed:
                token_maps = maths.smooth(token_maps, self.kernel_size, self.sigma)
            cells = grid_cells(box, tuple(token_maps.shape[-2:]))
            inners = []
            for image in token_maps:
                terms = box_terms(image, cells, self.p, self.l)
                inners.append(terms.inner)
                total = terms.loss() if total is None else total + terms.loss()
            readout.append(torch.stack(inners).mean())
        if total is None:
            total = maps.aggregated.sum() * 0
        return ObjectiveLoss(total, torch.stack(readout).detach().float() if readout else torch.zeros(0))


class BoxKind:
    name = NAME

    @staticmethod
    def from_request(request: "GenerationRequest") -> BoxObjective | None:
        settings = getattr(request, "boxes", None)
        if settings is None or not settings.active:
            return None
        return BoxObjective(tuple(settings.boxes), settings.prompt_length, settings.p, settings.l)
