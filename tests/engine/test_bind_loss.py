"""The binding loss on small hand-made maps equals the released SynGen formula written out by hand
(plain Python floats, no code of ours), including a two-token word and two modifiers of one noun."""
from __future__ import annotations

import math
import random

import pytest
import torch

from aae_desktop.engine.objectives.bind_settings import BindSettings, bind_problem
from aae_desktop.engine.objectives.registry import KINDS
from aae_desktop.engine.objectives.base import AttentionMaps
from aae_desktop.engine.objectives.bind import BindObjective


def _hand_maps(h=3, w=2, tokens=9, seed=0):
    rng = random.Random(seed)
    return [[[rng.uniform(0.01, 1.0) for _ in range(tokens)] for _ in range(w)] for _ in range(h)]


def _dist(raw, i):
    values = [raw[y][x][i] for y in range(len(raw)) for x in range(len(raw[0]))]
    total = sum(values)
    return [v / total for v in values]


def _skl(p, q):
    kl_pq = sum(a * math.log(a / b) for a, b in zip(p, q))
    kl_qp = sum(b * math.log(b / a) for a, b in zip(p, q))
    return (kl_pq + kl_qp) / 2


def _hand_loss(raw, groups, prompt_tokens):
    d = {i: _dist(raw, i) for i in prompt_tokens}
    total = 0.0
    for modifiers, noun in groups:
        inside = {i for word in (*modifiers, noun) for i in word}
        outside = [o for o in prompt_tokens if o not in inside]
        noun_neg = -sum(max(_skl(d[t], d[o]) for t in noun) for o in outside) / len(outside)
        for modifier in modifiers:
            positive = max(_skl(d[s], d[n]) for s in modifier for n in noun)
            mod_neg = -sum(max(_skl(d[t], d[o]) for t in modifier) for o in outside) / len(outside)
            total += positive + (mod_neg + noun_neg) / 2
    return total


# "a black and white dog , a reddish hat": tokens 1..8; "black"=2, "white"=4 bind "dog"=5; a
# two-token modifier (6, 7) binds "hat"=8.
GROUPS = ((((2,), (4,)), (5,)), (((6, 7),), (8,)))
PROMPT_TOKENS = tuple(range(1, 9))


def test_bind_loss_equals_the_formula_by_hand():
    raw = _hand_maps()
    maps = AttentionMaps(torch.tensor(raw, dtype=torch.float64), None)
    result = BindObjective(GROUPS, PROMPT_TOKENS).loss(maps)
    assert result.loss.item() == pytest.approx(_hand_loss(raw, GROUPS, PROMPT_TOKENS), rel=1e-5)
    d = {i: _dist(raw, i) for i in PROMPT_TOKENS}
    first = (_skl(d[2], d[5]) + _skl(d[4], d[5])) / 2
    second = max(_skl(d[6], d[8]), _skl(d[7], d[8]))
    assert result.readout.tolist() == pytest.approx([first, second], rel=1e-5)


def test_identical_maps_have_no_positive_loss_and_a_gradient_flows():
    raw = torch.tensor(_hand_maps(seed=3), dtype=torch.float64, requires_grad=True)
    loss = BindObjective(((((2,),), (5,)),), PROMPT_TOKENS).loss(AttentionMaps(raw, None))
    (grad,) = torch.autograd.grad(loss.loss, [raw])
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    same = raw.detach().clone()
    same[:, :, 2] = same[:, :, 5] * 3  # same distribution over pixels
    result = BindObjective(((((2,),), (5,)),), PROMPT_TOKENS).loss(AttentionMaps(same, None))
    assert result.readout.tolist() == pytest.approx([0.0], abs=1e-12)


def test_bind_is_registered():
    assert "bind" in {kind.name for kind in KINDS}


@pytest.mark.parametrize("groups, length, words", [
    (((((2,),), (2,)),), 9, "itself"),
    (((((2,),), (5,)), (((2,),), (8,))), 9, "two nouns"),
    (((((2,),), (12,)),), 9, "outside the prompt"),
])
def test_bad_groups_are_refused_in_one_sentence(groups, length, words):
    problem = bind_problem(BindSettings(True, groups, prompt_length=length), length)
    assert problem is not None and words in problem and problem.count(". ") == 0


def test_good_groups_pass_and_round_trip():
    settings = BindSettings(True, GROUPS, 20.0, 9)
    assert bind_problem(settings, 9) is None
    assert BindSettings.from_dict(settings.to_dict()) == settings
    assert BindSettings.from_dict(None) == BindSettings()


def test_a_request_with_binding_round_trips_and_an_old_one_reads_without():
    from aae_desktop.engine.request import GenerationRequest
    request = GenerationRequest(model="m", prompt="a black and white dog , a reddish hat",
                                bind=BindSettings(True, GROUPS, 12.5, 9))
    assert GenerationRequest.from_dict(request.to_dict()) == request
    old = GenerationRequest(model="m", prompt="a cat").to_dict()
    assert "bind" not in old and GenerationRequest.from_dict(old).bind == BindSettings()
