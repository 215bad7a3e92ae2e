"""Boxes in requests: the round trip, older requests' form, and one-sentence problems."""
from __future__ import annotations

import pytest

from aae_desktop.engine.objectives.box_settings import BoxSettings, box_grid_problem
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import GenerationRequest
from tests.engine.helpers import small_request

PROMPT = "a red cat and a blue frog"  # cat 3, frog 7; end-of-text 8
BOXES = (((3,), (0.0, 0.0, 0.5, 1.0)), ((6, 7), (0.5, 0.25, 1.0, 1.0)))


def test_boxes_round_trip_and_requests_without_boxes_keep_their_form():
    settings = BoxSettings(True, BOXES, scale=12.5, p=0.3, l=2, prompt_length=8, steps=4)
    request = small_request(prompt=PROMPT, boxes=settings)
    assert GenerationRequest.from_dict(request.to_dict()) == request
    plain = small_request(prompt=PROMPT)
    assert "boxes" not in plain.to_dict()
    assert GenerationRequest.from_dict(plain.to_dict()).boxes == BoxSettings()
    assert "steps" not in BoxSettings(True, BOXES, prompt_length=8).to_dict()
    assert BoxSettings(True, BOXES).steps_for(50) == 25 and settings.steps_for(50) == 4


@pytest.mark.parametrize("boxes, expected", [
    ((((3,), (0.0, 0.0, 1.2, 1.0)),), "has a corner outside the image"),
    ((((3,), (0.5, 0.0, 0.5, 1.0)),), "right edge right of its left"),
    ((((3,), (0.0, 0.6, 1.0, 0.2)),), "bottom below its top"),
    ((((3,), (0.0, 0.0, 0.5, 1.0)), ((3,), (0.5, 0.0, 1.0, 1.0))), "has two boxes"),
    ((((9,), (0.0, 0.0, 0.5, 1.0)),), "Token index 9 is outside the prompt"),
])
def test_a_wrong_box_is_one_sentence(boxes, expected):
    request = small_request(prompt=PROMPT, boxes=BoxSettings(True, boxes, prompt_length=8))
    with pytest.raises(InvalidRequest) as caught:
        request.validate()
    message = str(caught.value)
    assert expected in message and message.count(". ") == 0 and "\n" not in message


def test_boxes_alone_need_no_excited_word_and_a_box_must_cover_a_cell():
    small_request(prompt=PROMPT, excite={"token_indices": ()},
                  boxes=BoxSettings(True, BOXES, prompt_length=8)).validate()
    thin = BoxSettings(True, (((3,), (0.42, 0.0, 0.45, 1.0)),), prompt_length=8)
    assert box_grid_problem(thin, (16, 16)) == ("The box of tokens [3] is smaller than one cell of the 16 x 16 "
                                                "attention grid: make it at least 0.07 wide and 0.07 tall.")
    assert box_grid_problem(thin, (64, 64)) is None
    assert box_grid_problem(BoxSettings(True, BOXES, prompt_length=8), (4, 4)) is None


@pytest.mark.parametrize("boxes", [[{"box": [0, 0, 1, 1]}], [{"word": [3], "box": [0, 0, 1]}], ["3: 0 0 1 1"],
                                   [{"word": [True], "box": [0, 0, 1, 1]}]])
def test_malformed_saved_boxes_are_a_clear_refusal(boxes):
    data = small_request(prompt=PROMPT).to_dict()
    data["boxes"] = {"enabled": True, "boxes": boxes, "prompt_length": 8}
    with pytest.raises(InvalidRequest, match="Saved settings are malformed"):
        GenerationRequest.from_dict(data)
