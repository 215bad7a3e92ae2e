"""Attend-and-Excite as an attention objective: the most neglected chosen word decides the loss."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aae_desktop.engine.run import excite_maths as maths
from aae_desktop.engine.objectives.base import AttentionMaps, MapNeeds, ObjectiveLoss

if TYPE_CHECKING:
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

NAME = "excite"


@dataclass(frozen=True)
class ExciteObjective:
    """max over the chosen tokens of max(0, 1 - peak of the token's (smoothed) map).

    Its readout is each token's peak, in token order: the numbers thresholds, events and the
    window's readout show.
    """

    token_indices: tuple[int, ...]
    smoothed: bool = True
    kernel_size: int = 3
    sigma: float = 0.5
    name: str = NAME

    def needs(self) -> MapNeeds:
        return MapNeeds(self.token_indices, self.smoothed)

    def loss(self, maps: AttentionMaps) -> ObjectiveLoss:
        maxima = maths.max_attention(maps.token_maps(self.token_indices), self.smoothed, self.kernel_size, self.sigma)
        return ObjectiveLoss(maths.excite_loss(maxima), maxima.detach().float())


class ExciteKind:
    name = NAME

    @staticmethod
    def from_request(request: "GenerationRequest") -> ExciteObjective | None:
        ex: ExciteSettings = request.excite
        if not ex.enabled or not ex.token_indices:
            return None
        return ExciteObjective(tuple(ex.token_indices), ex.smooth_attentions, ex.kernel_size, ex.sigma)
