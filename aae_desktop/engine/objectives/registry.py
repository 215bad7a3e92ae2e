"""The registry of attention objectives: every kind, in the order the loop sums them, and the ones a
request turns on. (Apart from the package's __init__, so that reading an objective's settings, as the
window does, never imports torch.)"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aae_desktop.engine.objectives.base import AttentionMaps, AttentionObjective, MapNeeds, ObjectiveKind, ObjectiveLoss
from aae_desktop.engine.objectives.bind import BindKind, BindObjective
from aae_desktop.engine.objectives.boxes import BoxKind, BoxObjective
from aae_desktop.engine.objectives.excite import ExciteKind, ExciteObjective

if TYPE_CHECKING:
    from aae_desktop.engine.request import GenerationRequest

# In the order their losses are summed and their readouts reported.
KINDS: tuple[ObjectiveKind, ...] = (ExciteKind(), BindKind(), BoxKind())


def active_objectives(request: "GenerationRequest") -> list[AttentionObjective]:
    """The objectives this request turns on, in KINDS order."""
    found = (kind.from_request(request) for kind in KINDS)
    return [objective for objective in found if objective is not None]


__all__ = ["AttentionMaps", "AttentionObjective", "BindObjective", "BoxObjective", "ExciteObjective", "KINDS", "MapNeeds",
           "ObjectiveKind", "ObjectiveLoss", "active_objectives"]
