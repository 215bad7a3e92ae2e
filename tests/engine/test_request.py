"""GenerationRequest validation messages and (de)serialisation."""
from __future__ import annotations

import json

import pytest

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import SCHEMA_VERSION, ExciteSettings, GenerationRequest, parse_thresholds

PROMPT = "a cat and a frog"  # tokens: 1 a, 2 cat, 3 and, 4 a, 5 frog, 6 <eot>


def req(**changes):
    excite = {"token_indices": (2, 5), **changes.pop("excite", {})}
    base = dict(model="m", prompt=PROMPT, steps=50, excite=ExciteSettings(**excite))
    base.update(changes)
    return GenerationRequest(**base)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prompt": "   "}, "prompt is empty"),
        ({"excite": {"token_indices": (0, 2)}}, "start-of-text"),
        ({"excite": {"token_indices": (2, 6)}}, "end-of-text"),
        ({"excite": {"token_indices": (2, 9)}}, "past the prompt's last word token"),
        ({"excite": {"token_indices": (2, 2)}}, "duplicates"),
        ({"excite": {"token_indices": ()}}, "at least one word"),
        ({"width": 500}, "width must be a multiple of 8"),
        ({"height": 56}, "at least 64"),
        ({"steps": 0}, "steps must be at least 1"),
        ({"excite": {"max_iter_to_alter": -1}}, "max_iter_to_alter must not be negative"),
        ({"excite": {"thresholds": ((-1, 0.5),)}}, "step -1 is negative"),
        ({"excite": {"thresholds": ((3, 0.5), (3, 0.6))}}, "listed twice"),
        ({"excite": {"thresholds": ((10, 0.0),)}}, r"\(0, 1\]"),
        ({"excite": {"thresholds": ((10, 1.5),)}}, r"\(0, 1\]"),
        ({"scheduler": "magic"}, "Unknown scheduler 'magic'"),
        ({"num_images": 0}, "number of images must be at least 1"),
    ],
)
def test_bad_requests_get_clear_messages(tokenizer, changes, message):
    with pytest.raises(InvalidRequest, match=message):
        req(**changes).validate(tokenizer)


def test_errors_name_their_field_and_each_front_end_words_it(tokenizer):
    with pytest.raises(InvalidRequest) as caught:
        req(steps=0).validate(tokenizer)
    assert caught.value.field == "steps"
    assert caught.value.message_for({"steps": "--steps"}) == "--steps must be at least 1 (got 0)."
    assert caught.value.message_for({"steps": "Steps"}) == "Steps must be at least 1 (got 0)."
    with pytest.raises(InvalidRequest) as caught:
        parse_thresholds("10=0.5")
    assert caught.value.field == "excite.thresholds"
    assert caught.value.message_for({"excite.thresholds": "--thresholds"}).startswith("--thresholds: '10=0.5' should look")


def test_good_request_validates_and_excite_off_needs_no_tokens(tokenizer):
    assert req().validate(tokenizer) == []
    assert req(excite={"enabled": False, "token_indices": ()}).validate(tokenizer) == []


def test_long_prompt_is_truncated_with_a_warning(tokenizer):
    long_prompt = " ".join(["cat"] * 80)
    warnings = req(prompt=long_prompt).validate(tokenizer)
    assert len(warnings) == 1 and "80 tokens" in warnings[0] and "75" in warnings[0]
    # The window names the field by its label, which must read as the start of a sentence.
    assert warnings[0].message_for({"prompt": "Prompt"}).startswith("Prompt: 80 tokens, of which only the first 75")


def test_round_trip_through_json_keeps_every_field():
    original = req(negative_prompt="blur", seed=42, num_images=3, width=640, height=384, scheduler="euler_a",
                   excite={"thresholds": ((0, 0.1), (7, 0.6)), "scale_factor": 12.5, "attn_res": (12, 20),
                           "smooth_attentions": False, "softmax_stop_at_eot": True})
    data = json.loads(json.dumps(original.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION
    assert GenerationRequest.from_dict(data) == original


def test_from_dict_rejects_newer_schema_and_garbage():
    with pytest.raises(InvalidRequest, match="newer version"):
        GenerationRequest.from_dict({"schema_version": SCHEMA_VERSION + 1, "model": "m", "prompt": "x"})
    with pytest.raises(InvalidRequest, match="malformed"):
        GenerationRequest.from_dict({"model": "m", "prompt": "x", "steps": "many"})


def test_parse_thresholds_forms():
    assert parse_thresholds("10:0.5, 0:0.05") == ((0, 0.05), (10, 0.5))
    assert parse_thresholds({"3": 0.2}) == ((3, 0.2),)
    with pytest.raises(InvalidRequest, match="STEP:VALUE"):
        parse_thresholds("10=0.5")


def test_for_image_gives_seed_plus_i():
    r = req(seed=100, num_images=4)
    assert r.for_image(3).seed == 103 and r.for_image(3).num_images == 1
