"""Binding in the generation loop: alone it moves the image (SynGen's schedule); off (scale 0, no
groups) an excite run is bit-identical to one without binding."""
from __future__ import annotations

import numpy as np

from aae_desktop.engine.objectives.bind_settings import BindSettings
from aae_desktop.engine.run.generate import generate
from tests.engine.helpers import small_request

PROMPT = "a red cat and a blue frog"  # red 2, cat 3, blue 6, frog 7; end-of-text 8
GROUPS = ((((2,),), (3,)), (((6,),), (7,)))


def _pixels(result):
    return np.asarray(result.images[0].image).astype(int)


def test_binding_alone_moves_the_image_and_runs_the_first_half(tiny_model):
    plain = generate(tiny_model, small_request(prompt=PROMPT, excite={"enabled": False}))
    events = []
    bound = generate(tiny_model, small_request(prompt=PROMPT, excite={"enabled": False},
                                               bind=BindSettings(True, GROUPS, 20.0, 8)), on_step=events.append)
    assert np.abs(_pixels(bound) - _pixels(plain)).max() > 1
    assert sorted({e.step for e in events if e.phase == "binding"}) == [0, 1, 2]  # 6 steps: the first half
    assert not [e for e in events if e.phase in ("exciting", "refining")]


def test_binding_off_leaves_an_excite_run_bit_identical(tiny_model):
    excite = _pixels(generate(tiny_model, small_request(prompt=PROMPT, excite={"token_indices": (3, 7)})))
    zero = _pixels(generate(tiny_model, small_request(prompt=PROMPT, excite={"token_indices": (3, 7)},
                                                      bind=BindSettings(True, GROUPS, 0.0, 8))))
    empty = _pixels(generate(tiny_model, small_request(prompt=PROMPT, excite={"token_indices": (3, 7)},
                                                       bind=BindSettings(True, (), 20.0, 8))))
    with_bind = _pixels(generate(tiny_model, small_request(prompt=PROMPT, excite={"token_indices": (3, 7)},
                                                           bind=BindSettings(True, GROUPS, 20.0, 8))))
    assert np.array_equal(zero, excite) and np.array_equal(empty, excite)
    assert not np.array_equal(with_bind, excite)  # the control: binding on does change the excite image


def test_binding_steps_are_the_artists_when_set_and_the_bound_words_get_heat_maps(tiny_model):
    events = []
    result = generate(tiny_model, small_request(prompt=PROMPT, excite={"enabled": False},
                                                bind=BindSettings(True, GROUPS, 20.0, 8, steps=1)),
                      on_step=events.append)
    assert sorted({e.step for e in events if e.phase == "binding"}) == [0]
    # The heat maps cover every bound word, though none is excited.
    assert sorted(result.images[0].attention_maps) == [2, 3, 6, 7]
    excited = generate(tiny_model, small_request(prompt=PROMPT, excite={"token_indices": (3,)},
                                                 bind=BindSettings(True, GROUPS, 20.0, 8)))
    assert {2, 3, 6, 7} <= set(excited.images[0].attention_maps)


def test_binding_steps_round_trip_and_older_settings_mean_the_first_half():
    settings = BindSettings(True, GROUPS, 12.5, 8, steps=7)
    assert BindSettings.from_dict(settings.to_dict()) == settings
    assert "steps" not in BindSettings(True, GROUPS, 20.0, 8).to_dict()
    assert BindSettings(True, GROUPS).steps_for(50) == 25 and settings.steps_for(50) == 7 and settings.steps_for(5) == 5


def test_exciting_on_with_no_word_chosen_binds_alone_when_pairs_are_bound(tiny_model):
    """The window keeps Attend-and-Excite on while the artist only binds: that is binding alone."""
    from aae_desktop.engine.errors import InvalidRequest

    request = small_request(prompt=PROMPT, excite={"token_indices": ()}, bind=BindSettings(True, GROUPS, 20.0, 8))
    request.validate()
    events = []
    generate(tiny_model, request, on_step=events.append)
    assert sorted({e.step for e in events if e.phase == "binding"}) == [0, 1, 2]
    try:  # without pairs, "choose a word" still stands
        small_request(prompt=PROMPT, excite={"token_indices": ()}).validate()
    except InvalidRequest as exc:
        assert "Choose at least one word" in str(exc)
    else:
        raise AssertionError("no word and no binding was accepted")


def test_binding_alone_counts_the_steps_asked_for_as_boxes_do(tiny_model):
    """PNDM runs one timestep more than the steps asked for: at 7 steps binding ran 4 (7 + 1 halved)
    while boxes ran 3. Both take the first half of the steps asked for."""
    events = []
    generate(tiny_model, small_request(prompt=PROMPT, steps=7, excite={"enabled": False},
                                       bind=BindSettings(True, GROUPS, 20.0, 8)), on_step=events.append)
    assert sorted({e.step for e in events if e.phase == "binding"}) == [0, 1, 2]
