"""Binding (SynGen, Rassin et al. 2023) as an attention objective: a modifier's map should cover
its noun's, and neither should cover the prompt's other words.

Facts from the released implementation (which we follow where it and the paper differ):
- a word's map is its column of the raw head/layer-averaged attention (the attention's own softmax
  over all 77 positions, no x100 text softmax, no smoothing), normalised to sum 1 over pixels
  (their x100 before normalising cancels);
- the distance is the MEAN of the two KL divergences, (KL(p||q) + KL(q||p)) / 2;
- a word of several tokens counts with its worst token pair (max over tokens);
- for each (modifier, noun) pair of a group: positive = distance(modifier, noun); negative = the
  mean of -(mean over outside tokens of distance(noun, o)) and the same for the modifier, where
  "outside" is every prompt token (start and end excluded, "a" and commas included) not in the
  group. The loss is the sum over groups and pairs of positive + negative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from aae_desktop.engine.objectives.bind_settings import Group, Word
from aae_desktop.engine.objectives.base import AttentionMaps, MapNeeds, ObjectiveLoss

if TYPE_CHECKING:
    from aae_desktop.engine.request import GenerationRequest

NAME = "bind"


def pixel_distributions(aggregated: torch.Tensor, token_indices: tuple[int, ...]) -> torch.Tensor:
    """(k, h*w): each token's raw map as a distribution over pixels."""
    maps = aggregated[:, :, list(token_indices)].permute(2, 0, 1).reshape(len(token_indices), -1)
    return maps / maps.sum(dim=1, keepdim=True)


def symmetric_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(KL(p||q) + KL(q||p)) / 2 over the last axis (as the released code averages, not sums)."""
    log_p, log_q = p.log(), q.log()
    return ((p * (log_p - log_q)).sum(-1) + (q * (log_q - log_p)).sum(-1)) / 2


@dataclass(frozen=True)
class BindObjective:
    """Sum over groups and (modifier, noun) pairs of positive + negative (see the module doc).

    `prompt_tokens` are the prompt's token indices (1 .. end-of-text - 1): the pool of outside words.
    Its readout is, per group, the mean over its modifiers of the pair's symmetric KL.
    """

    groups: tuple[Group, ...]
    prompt_tokens: tuple[int, ...]
    name: str = NAME

    def needs(self) -> MapNeeds:
        used = {i for modifiers, noun in self.groups for word in (*modifiers, noun) for i in word}
        return MapNeeds(tuple(sorted(used | set(self.prompt_tokens))))

    def loss(self, maps: AttentionMaps) -> ObjectiveLoss:
        columns = tuple(sorted({i for _, noun in self.groups for i in noun}
                               | {i for mods, _ in self.groups for m in mods for i in m} | set(self.prompt_tokens)))
        dist = dict(zip(columns, pixel_distributions(maps.aggregated.float(), columns)))
        total = None
        readout = []
        for modifiers, noun in self.groups:
            inside = {i for word in (*modifiers, noun) for i in word}
            outside = [o for o in self.prompt_tokens if o not in inside]
            noun_away = _away(dist, noun, outside)
            positives = []
            for modifier in modifiers:
                positive = _word_distance(dist, modifier, noun)
                positives.append(positive)
                term = positive + (_away(dist, modifier, outside) + noun_away) / 2
                total = term if total is None else total + term
            readout.append(torch.stack(positives).mean())
        if total is None:
            total = maps.aggregated.sum() * 0
        return ObjectiveLoss(total, torch.stack(readout).detach().float() if readout else torch.zeros(0))


def _word_distance(dist: dict[int, torch.Tensor], a: Word, b: Word) -> torch.Tensor:
    return torch.stack([symmetric_kl(dist[s], dist[d]) for s in a for d in b]).max()


def _away(dist: dict[int, torch.Tensor], word: Word, outside: list[int]) -> torch.Tensor | float:
    """Minus the mean over outside tokens of the word's (worst-token) distance to each; 0 with none."""
    if not outside:
        return 0.0
    return -torch.stack([_word_distance(dist, word, (o,)) for o in outside]).sum() / len(outside)


class BindKind:
    name = NAME

    @staticmethod
    def from_request(request: "GenerationRequest") -> BindObjective | None:
        bind = getattr(request, "bind", None)
        if bind is None or not bind.active or bind.scale == 0:
            return None
        return BindObjective(tuple(bind.groups), tuple(range(1, bind.prompt_length)))
