"""Bound pairs of a request and how much a modifier's map lies where its noun's does (#22)."""
from __future__ import annotations

import numpy as np
import pytest

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.bound_pairs import bound_pairs, map_overlap


def _maps(**by_token: list[list[float]]) -> dict[int, np.ndarray]:
    return {int(k[1:]): np.asarray(v, np.float32) for k, v in by_token.items()}


def test_identical_maps_overlap_fully_and_disjoint_ones_not_at_all():
    spot = [[0, 1], [2, 0]]
    maps = _maps(t2=spot, t3=[[0, 3], [6, 0]], t4=[[5, 0], [0, 1]])
    assert map_overlap(maps, (2,), (3,)) == pytest.approx(1.0)  # same place, another strength
    assert map_overlap(maps, (2,), (4,)) == pytest.approx(0.0)


def test_half_overlap_computed_by_hand():
    # p = (0.5, 0.5, 0, 0), q = (0, 0.25, 0.75, 0): min per pixel = (0, 0.25, 0, 0), sum 0.25.
    maps = _maps(t2=[[1, 1], [0, 0]], t3=[[0, 1], [3, 0]])
    assert map_overlap(maps, (2,), (3,)) == pytest.approx(0.25)
    assert map_overlap(maps, (3,), (2,)) == pytest.approx(0.25)  # symmetric


def test_a_two_token_word_sums_its_tokens_maps():
    # Tokens 3 + 4 = (3, 1, 0, 0) -> (0.75, 0.25, 0, 0); the noun (0, 1, 0, 0): overlap 0.25.
    # Its first token alone would give 0, the second alone 1.
    maps = _maps(t3=[[3, 0], [0, 0]], t4=[[0, 1], [0, 0]], t6=[[0, 2], [0, 0]])
    assert map_overlap(maps, (3, 4), (6,)) == pytest.approx(0.25)


def test_no_overlap_without_maps():
    maps = _maps(t2=[[1, 0], [0, 0]], t3=[[0, 0], [0, 0]])
    assert map_overlap(maps, (2,), (9,)) is None  # the noun's map was not kept
    assert map_overlap(maps, (2,), (3,)) is None  # an all-zero map has no distribution


def _bound(prompt: str, groups, enabled: bool = True) -> GenerationRequest:
    return GenerationRequest(model="m", prompt=prompt, bind=BindSettings(enabled=enabled, groups=groups,
                                                                          prompt_length=9))


def test_bound_pairs_name_each_modifier_and_its_noun(tokenizer):
    # a=1 big=2 red=3 cat=4 and=5 a=6 blue=7 frog=8
    big_red_cat = (((2,), (3,)), (4,))
    blue_frog = (((7,),), (8,))
    request = _bound("a big red cat and a blue frog", (big_red_cat, blue_frog))
    pairs = bound_pairs(request, tokenizer)
    assert [p.label for p in pairs] == ["big → cat", "red → cat", "blue → frog"]
    assert [(p.modifier_tokens, p.noun_tokens) for p in pairs] == [((2,), (4,)), ((3,), (4,)), ((7,), (8,))]
    assert [p.label for p in bound_pairs(request)] == ["token 2 → token 4", "token 3 → token 4", "token 7 → token 8"]
    assert bound_pairs(_bound("a red cat", ((((2,),), (3,)),), enabled=False), tokenizer) == []


def test_a_word_split_into_tokens_is_named_once(tokenizer):
    from aae_desktop.engine.tokens import tokenize_prompt

    prompt = "a crimsonish cat"
    tint = {w.text: w.token_indices for w in tokenize_prompt(tokenizer, prompt).words}["crimsonish"]
    assert len(tint) > 1
    cat = tint[-1] + 1
    (pair,) = bound_pairs(_bound(prompt, (((tint,), (cat,)),)), tokenizer)
    assert pair.label == "crimsonish → cat" and pair.modifier_tokens == tint
