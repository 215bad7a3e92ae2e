"""What an attention objective is: a loss over the cross-attention maps of one gradient pass.

Exciting (every chosen word gets a strong peak), binding (an attribute's map overlaps its noun's)
and boxes (a word's map sits inside its box) all read the same captured maps, so the loop runs one
truncated forward, hands the maps to every active objective, sums their losses and takes one
update on the UNet's input. An objective only says which maps it reads and how they make a loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from aae_desktop.engine.run import excite_maths as maths

if TYPE_CHECKING:
    from aae_desktop.engine.request import GenerationRequest


@dataclass(frozen=True)
class MapNeeds:
    """The maps an objective reads: which tokens, whether Gaussian-smoothed, at which UNet level.

    `level` None is the family's loss level (the one the capture records); the loop stops the
    gradient forward after the last layer of that level.
    """

    token_indices: tuple[int, ...]
    smoothed: bool = False
    level: int | None = None


class AttentionMaps:
    """The captured maps of one gradient pass: (h, w, text) aggregated over heads and layers.

    The text softmax (x100 over the words between start and end) is taken once and shared by every
    objective; per-token maps are cut from it on request.
    """

    def __init__(self, aggregated: torch.Tensor, text_stop: int | None):
        self.aggregated = aggregated
        self.text_stop = text_stop
        self.text_probs = maths.text_attention(aggregated, text_stop)
        self._other_stops: dict[int | None, torch.Tensor] = {}

    def token_maps(self, token_indices: tuple[int, ...] | list[int]) -> torch.Tensor:
        """(k, h, w) text-softmaxed maps of the tokens, unsmoothed."""
        return maths.token_maps(self.text_probs, list(token_indices))

    def token_maps_until(self, token_indices: tuple[int, ...] | list[int], text_stop: int | None) -> torch.Tensor:
        """As token_maps, with the text softmax ending at `text_stop` (an objective whose reference
        stops elsewhere than the run, e.g. boxes at the end-of-text token on SD 1.x)."""
        if text_stop == self.text_stop:
            return self.token_maps(token_indices)
        if text_stop not in self._other_stops:
            self._other_stops[text_stop] = maths.text_attention(self.aggregated, text_stop)
        return maths.token_maps(self._other_stops[text_stop], list(token_indices))


@dataclass(frozen=True)
class ObjectiveLoss:
    """One objective's loss on one pass, with the numbers it reports (read back with the loss)."""

    loss: torch.Tensor  # 0-d, with graph
    readout: torch.Tensor  # 1-d, detached numbers for events (e.g. each excited word's peak)


class AttentionObjective(Protocol):
    """An attention objective: `name` is its metadata key; its config lives in the request."""

    name: str

    def needs(self) -> MapNeeds:
        ...

    def loss(self, maps: AttentionMaps) -> ObjectiveLoss:
        ...


class ObjectiveKind(Protocol):
    """A registry entry: builds the objective a request asks for, or None when it asks for none."""

    name: str

    def from_request(self, request: "GenerationRequest") -> AttentionObjective | None:
        ...
