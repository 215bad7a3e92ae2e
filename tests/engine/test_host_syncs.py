"""The engine makes the host wait for the device rarely: one read-back per excite forward, previews
only when wanted, NaN checks every few steps. Counted on the CPU by wrapping every Tensor method that
copies device data to the host (on a GPU each of these stalls the stream)."""
from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

import aae_desktop
from aae_desktop.engine.run.generate import NAN_CHECK_EVERY, generate
from tests.engine.helpers import small_request

READ_BACKS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")
ENGINE = str(Path(aae_desktop.__file__).parent)


@pytest.fixture
def read_backs(monkeypatch):
    """Counts read-backs made by our own code (the caller's file is in aae_desktop), by function."""
    counts: Counter = Counter()
    for name in READ_BACKS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, __original=original, **kwargs):
            caller = sys._getframe(1)
            if caller.f_code.co_filename.startswith(ENGINE):
                counts[caller.f_code.co_name] += 1
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


def _run(tiny_model, request, **kwargs):
    events = []
    result = generate(tiny_model, request, on_step=events.append, **kwargs)
    return result.images[0], events


def test_one_read_back_per_excite_forward_and_no_previews_nobody_wants(tiny_model, read_backs):
    request = small_request(steps=20, excite={"max_iter_to_alter": 3, "thresholds": ((0, 0.05), (2, 0.5))})
    image, events = _run(tiny_model, request, preview_wanted=lambda: False)
    excite_forwards = len(image.loss_history)
    assert excite_forwards > 3  # refinement ran
    steps = events[-1].total_steps
    nan_checks = math.ceil(steps / NAN_CHECK_EVERY)
    # per excite forward: loss + maxima together; every few steps: the NaN check; per image: maps, pixels.
    assert sum(read_backs.values()) <= excite_forwards + nan_checks + 2, dict(read_backs)
    assert all(e.preview is None for e in events)


def test_previews_only_on_steps_where_they_are_wanted(tiny_model, read_backs):
    request = small_request(steps=6, excite={"enabled": False})
    asked = []

    def wanted():
        asked.append(len(asked))
        return len(asked) % 3 == 0  # like the window's 4 a second: most steps get none

    _, events = _run(tiny_model, request, preview_wanted=wanted)
    previews = [e for e in events if e.preview is not None]
    assert len(asked) == events[-1].total_steps and len(previews) == len(asked) // 3
    assert all(e.preview.size == (16, 16) for e in previews)
    without = sum(read_backs.values())
    read_backs.clear()
    _run(tiny_model, request, preview_wanted=lambda: False)
    assert sum(read_backs.values()) < without


def test_nan_is_still_caught_with_the_step_it_happened(tiny_model, monkeypatch):
    from diffusers import PNDMScheduler

    from aae_desktop.engine.errors import NaNLatents

    original = PNDMScheduler.step

    def poisoned(self, model_output, timestep, sample, *args, **kwargs):
        out = original(self, model_output, timestep, sample, *args, **kwargs)
        if self.counter == 4:  # the 4th step (index 3) returns NaN latents
            out.prev_sample[..., 0, 0] = float("nan")
        return out

    monkeypatch.setattr(PNDMScheduler, "step", poisoned)
    with pytest.raises(NaNLatents) as caught:
        generate(tiny_model, small_request(steps=12, excite={"enabled": False}), preview_every=0)
    assert caught.value.step == 3
