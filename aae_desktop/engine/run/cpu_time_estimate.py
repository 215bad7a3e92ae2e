"""How long a render takes on the CPU, estimated before it starts, so that a very large one (2048 px
on the CPU: hours) says so first instead of looking stuck. Plain arithmetic: no torch, no Qt.

The figures are seconds per image pixel for one UNet pass, measured with SD 1.x's real UNet widths
(320-1280), fp32, on the 2-core CPU this project is developed on, with benchmarks/bench_engine.py's
per-pass timings (the closing note of the round that made CPU passes faster, commit 1233efa):

- a guided step (the UNet at batch 2: prompt and negative) took 3.68 s at 256 px and 14.2 s at
  512 px: 5.6e-5 and 5.4e-5 s per pixel;
- an excite step's gradient pass (forward 1.01 s + backward 1.05 s at 256 px, batch 1): 3.1e-5;
- a step without guidance runs the UNet at batch 1, which costs no more than that gradient
  pass's forward: 1.01 s at 256 px, 1.5e-5.

So the estimate grows with the pixel count, linearly; attention grows faster than that at large
sizes, and Attend-and-Excite's refinement rounds (up to the refinement cap at each threshold step)
come on top, so the real time is longer: the message says "at least". (README's sd1 benchmark, 256
px, 10 steps of which 5 excited, ran 106 s; these figures give 46 s before its refinement rounds.)
SDXL's UNet was not measured on the CPU; it is larger, so its runs take longer than this says. A
faster CPU takes less; the message says where the figure is from.
"""
from __future__ import annotations

from typing import Any

GUIDED_STEP_SECONDS_PER_PIXEL = 5.4e-5
UNGUIDED_STEP_SECONDS_PER_PIXEL = 1.5e-5
EXCITE_PASS_SECONDS_PER_PIXEL = 3.1e-5
MEASURED_ON = "a 2-core CPU"

# Past this a render is worth a warning before it starts (a 512 px SD 1.x image with 50 steps is
# estimated at about 15 minutes here; 2048 px at about 4 hours).
WARN_AFTER_SECONDS = 30 * 60


def cpu_render_seconds(request: Any) -> float:
    """The least time `request` (a GenerationRequest) takes on the CPU, by the figures above."""
    pixels = request.width * request.height
    guided = request.guidance_scale > 1.0
    per_step = GUIDED_STEP_SECONDS_PER_PIXEL if guided else UNGUIDED_STEP_SECONDS_PER_PIXEL
    excite_steps = 0
    if request.excite.enabled and request.excite.token_indices:
        excite_steps = min(request.schedule().max_iter_to_alter, request.steps)
    per_image = pixels * (request.steps * per_step + excite_steps * EXCITE_PASS_SECONDS_PER_PIXEL)
    return per_image * request.num_images


def slow_cpu_render_note(request: Any, device: str, smaller: str = "a smaller size") -> str | None:
    """A sentence for the artist when `request` on `device` is estimated to run past
    WARN_AFTER_SECONDS; None on a GPU or for a render that is not that long. `smaller` names how to
    ask for a smaller image where the sentence is shown (the CLI names its flags)."""
    if device != "cpu":
        return None
    seconds = cpu_render_seconds(request)
    if seconds < WARN_AFTER_SECONDS:
        return None
    images = f", {request.num_images} images" if request.num_images > 1 else ""
    rate = GUIDED_STEP_SECONDS_PER_PIXEL if request.guidance_scale > 1.0 else UNGUIDED_STEP_SECONDS_PER_PIXEL
    return (f"This render will take at least {format_duration(seconds)} on the CPU ({request.width}×{request.height} "
            f"px, {request.steps} steps{images}; estimated from {rate * 1e6:.0f} µs per pixel and step, "
            f"measured on {MEASURED_ON}). {smaller[0].upper()}{smaller[1:]} or a GPU is far faster.")


def format_duration(seconds: float) -> str:
    """'4 h 3 min', '45 min' (to the minute: it is an estimate)."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
