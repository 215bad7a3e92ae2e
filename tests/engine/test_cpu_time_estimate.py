"""A very large render on the CPU warns with an estimate before it starts (engine/run/cpu_time_estimate.py).

No timing here: the estimate is arithmetic on declared per-pixel figures, so these tests check how it
scales and when it speaks, not how fast this machine is."""
from __future__ import annotations

import pytest

from aae_desktop.engine.run.cpu_time_estimate import (
    GUIDED_STEP_SECONDS_PER_PIXEL,
    cpu_render_seconds,
    format_duration,
    slow_cpu_render_note,
)
from aae_desktop.engine.request import GenerationRequest

BIG = GenerationRequest(model="m", prompt="a cat and a frog", width=2048, height=2048, steps=50).with_excite(
    token_indices=(2, 5))


def test_the_estimate_grows_with_pixels_steps_and_images():
    small = BIG.replace(width=512, height=512)
    assert cpu_render_seconds(BIG) == pytest.approx(16 * cpu_render_seconds(small))
    assert cpu_render_seconds(BIG.replace(num_images=3)) == pytest.approx(3 * cpu_render_seconds(BIG))
    plain = BIG.with_excite(enabled=False)
    assert cpu_render_seconds(plain) == pytest.approx(2048 * 2048 * 50 * GUIDED_STEP_SECONDS_PER_PIXEL)
    assert cpu_render_seconds(plain.replace(steps=25)) == pytest.approx(cpu_render_seconds(plain) / 2)
    assert cpu_render_seconds(BIG) > cpu_render_seconds(plain)  # the excite passes come on top


def test_a_2048_px_render_on_the_cpu_warns_with_the_estimate():
    note = slow_cpu_render_note(BIG, "cpu", smaller="a smaller --width/--height")
    assert note is not None
    assert f"at least {format_duration(cpu_render_seconds(BIG))} on the CPU" in note
    assert "2048×2048 px, 50 steps" in note and "A smaller --width/--height or a GPU" in note
    assert "h" in format_duration(cpu_render_seconds(BIG))  # hours, not minutes


@pytest.mark.parametrize("request_, device", [(BIG, "cuda"), (BIG, "mps"),  # a GPU: no warning
                                              (BIG.replace(width=512, height=512), "cpu")])  # a usual size
def test_no_warning_on_a_gpu_or_for_a_usual_size(request_, device):
    assert slow_cpu_render_note(request_, device) is None


def test_durations_read_as_a_person_would_say_them():
    assert [format_duration(s) for s in (20, 45 * 60, 3600, 4 * 3600 + 180)] == ["1 min", "45 min", "1 h", "4 h 3 min"]
