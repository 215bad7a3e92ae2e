"""The progress text agrees with itself and with the Schedule line (issue 20 §6): refinement tries count
1..the cap ("try 22" appeared with a cap of 20), and steps count from 1 in both places."""
from __future__ import annotations

import re

from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.engine.run.schedule import resolve_schedule
from aae_desktop.ui.run.run_status import progress_text
from aae_desktop.ui.run.worker import _progress

CAP = 3


def _texts(model, thresholds, steps=6, max_iter=2):
    request = GenerationRequest(
        model="tiny", prompt="a cat and a frog", seed=3, steps=steps, width=64, height=64,
        excite=ExciteSettings(token_indices=(2, 5), max_iter_to_alter=max_iter, thresholds=thresholds,
                              max_refinement_steps=CAP))
    events = []
    generate(model, request, on_step=events.append)
    return [progress_text(_progress(1, event)) for event in events]


def test_refinement_tries_count_from_one_to_the_cap(tiny_model):
    # A threshold of 1.0 is never reached: the engine refines until the cap, every time.
    texts = [t for t in _texts(tiny_model, ((1, 1.0),)) if t.startswith("Refining")]
    tries = [int(n) for t in texts for n in re.findall(r"try (\d+)", t)]
    assert tries and min(tries) == 1 and max(tries) == CAP, texts
    # The refinement happens at step 1 counted from 0, the second step: the progress says step 2.
    assert all(t.startswith("Refining · step 2/") for t in texts), texts


def test_the_schedule_line_counts_steps_as_the_progress_does(tiny_model):
    thresholds = ((0, 1.0), (2, 1.0))  # both within the excite steps, both refined to the cap
    summary = resolve_schedule(6, 3, thresholds).summary()
    texts = _texts(tiny_model, thresholds, max_iter=3)
    refined_at = sorted({int(m) for t in texts for m in re.findall(r"^Refining · step (\d+)/", t)})
    excited = sorted({int(m) for t in texts for m in re.findall(r"^Exciting · step (\d+)/", t)})
    # The Schedule line names the steps the progress bar shows for them.
    assert f"refine at steps {', '.join(map(str, refined_at))}" in summary, (summary, refined_at)
    assert f"excite steps 1–{max(excited)}" in summary, (summary, excited)
