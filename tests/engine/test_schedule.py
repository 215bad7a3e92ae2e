"""The Attend-and-Excite schedule follows the step count; set values are kept or adapted with a note."""
from __future__ import annotations

import json

import pytest

from aae_desktop.engine.errors import FieldNote
from aae_desktop.engine.request import SCHEMA_VERSION, ExciteSettings, GenerationRequest
from aae_desktop.engine.run.schedule import PAPER_THRESHOLDS, automatic_thresholds, resolve_schedule


@pytest.mark.parametrize("steps, max_iter, thresholds", [
    (50, 25, ((0, 0.05), (10, 0.5), (20, 0.8))),  # the paper's own numbers
    (20, 10, ((0, 0.05), (4, 0.5), (8, 0.8))),  # the example
    (8, 4, ((0, 0.05), (2, 0.5), (3, 0.8))),  # 1.6 -> 2, 3.2 -> 3
    (25, 13, ((0, 0.05), (5, 0.5), (10, 0.8))),  # 12.5 rounds half up, on every platform
    (30, 15, ((0, 0.05), (6, 0.5), (12, 0.8))),
    (1, 1, ((0, 0.05),)),  # all three land on step 0: the gentlest is kept
    (3, 2, ((0, 0.05), (1, 0.5))),  # 0.6 and 1.2 both give step 1: the earlier value is kept
])
def test_automatic_schedule_scales_the_papers_fractions(steps, max_iter, thresholds):
    schedule = resolve_schedule(steps, None, None)
    assert (schedule.max_iter_to_alter, schedule.thresholds) == (max_iter, thresholds)
    assert schedule.automatic_max_iter and schedule.automatic_thresholds and not schedule.notes


def test_summary_reads_like_the_panel():
    # Counted from 1, as the progress bar counts steps (thresholds 0, 4, 8 are the 1st, 5th and 9th steps).
    assert resolve_schedule(20, None, None).summary() == "excite steps 1–10 · refine at steps 1, 5, 9"
    assert resolve_schedule(20, 3, ()).summary() == "excite steps 1–3 · no refinement"
    assert resolve_schedule(20, 1, ((4, 0.5),)).summary() == "excite step 1 · refine at step 5"
    assert resolve_schedule(20, 0, ()).summary() == "no excite steps · no refinement"


def test_set_values_are_kept_while_they_fit():
    schedule = resolve_schedule(20, 20, ((0, 0.1), (19, 0.9)))
    assert schedule.max_iter_to_alter == 20 and schedule.thresholds == ((0, 0.1), (19, 0.9))
    assert not schedule.notes and not schedule.automatic_max_iter


def test_values_past_the_step_count_are_adapted_with_notes():
    schedule = resolve_schedule(20, 25, PAPER_THRESHOLDS)
    assert schedule.max_iter_to_alter == 10  # the paper's share, not "every step"
    assert schedule.thresholds == ((0, 0.05), (10, 0.5))  # the artist's values that fit are kept
    by_field = {note.field: note for note in schedule.notes}
    assert set(by_field) == {"excite.max_iter_to_alter", "excite.thresholds"}
    assert str(by_field["excite.max_iter_to_alter"]).startswith("max_iter_to_alter (25) is more than steps (20)")
    assert "step 20 is past the last step (19)" in str(by_field["excite.thresholds"])
    two = resolve_schedule(10, None, ((0, 0.1), (10, 0.5), (12, 0.8))).notes[0]
    assert "steps 10, 12 are past the last step (9)" in two


def test_notes_are_worded_by_each_front_end():
    note = resolve_schedule(20, 25, None).notes[0]
    assert isinstance(note, FieldNote)
    window = note.message_for({"excite.max_iter_to_alter": "Excite steps", "steps": "Steps"})
    cli = note.message_for({"excite.max_iter_to_alter": "--max-iter-to-alter", "steps": "--steps"})
    assert window.startswith("Excite steps (25) is more than Steps (20); this run excites the first 10")
    assert cli.startswith("--max-iter-to-alter (25) is more than --steps (20)")


def request(**excite) -> GenerationRequest:
    return GenerationRequest(model="m", prompt="a cat and a frog", steps=20,
                             excite=ExciteSettings(token_indices=(2, 5), **excite))


def test_defaults_follow_the_steps_and_resolve_to_numbers(tokenizer):
    r = request()
    assert r.excite.max_iter_to_alter is None and r.excite.thresholds is None
    assert r.validate(tokenizer) == []
    resolved = r.resolved()
    assert resolved.excite.max_iter_to_alter == 10
    assert resolved.excite.thresholds == automatic_thresholds(20)
    assert resolved.resolved() is resolved  # idempotent: metadata may resolve again safely
    with pytest.raises(ValueError, match="resolved"):
        _ = r.excite.threshold_map  # the loop must never read an unresolved schedule


def test_validate_returns_adaptation_notes_instead_of_failing(tokenizer):
    notes = request(max_iter_to_alter=25, thresholds=PAPER_THRESHOLDS).validate(tokenizer)
    assert {n.field for n in notes} == {"excite.max_iter_to_alter", "excite.thresholds"}
    assert request(max_iter_to_alter=25, enabled=True).replace(excite=ExciteSettings(enabled=False)).validate() == []


def test_automatic_values_round_trip_as_null_and_numbers_as_numbers():
    r = request()
    data = json.loads(json.dumps(r.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["excite"]["max_iter_to_alter"] is None and data["excite"]["thresholds"] is None
    assert GenerationRequest.from_dict(data) == r
    fixed = r.resolved()
    assert GenerationRequest.from_dict(json.loads(json.dumps(fixed.to_dict()))) == fixed


def test_schema_1_restores_its_numbers_exactly():
    """Schema 1 always meant numbers; a missing value was the paper's, whatever the step count."""
    old = {"schema_version": 1, "model": "m", "prompt": "a cat", "steps": 30,
           "excite": {"token_indices": [2], "max_iter_to_alter": 12, "thresholds": {"0": 0.1, "5": 0.6}}}
    r = GenerationRequest.from_dict(old)
    assert r.excite.max_iter_to_alter == 12 and r.excite.thresholds == ((0, 0.1), (5, 0.6))
    bare = GenerationRequest.from_dict({"schema_version": 1, "model": "m", "prompt": "a cat", "steps": 30,
                                        "excite": {"token_indices": [2]}})
    assert bare.excite.max_iter_to_alter == 25 and bare.excite.thresholds == PAPER_THRESHOLDS
