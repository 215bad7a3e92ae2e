"""The excite update is taken where the UNet reads the latents, on every sampler the app offers.

The paper's update is z' = z - step_size * dL/dz on the latent the UNet reads. Sigma-based
samplers (Euler, Euler a, LMS) feed the UNet latents / sqrt(sigma^2 + 1); an update taken on the
unscaled latents would reach the UNet at 1 / (sigma^2 + 1) of the paper's strength (1/214 at
SDXL's first step of 50). These tests watch the UNet itself: the input of the excite forward, the
gradient of the loss with respect to exactly that input, and the input of the guidance forward
that follows the update. None of it is computed with the engine's own update code.
"""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.request import SCHEDULERS
from aae_desktop.engine.run.schedulers import make_scheduler
from tests.engine.helpers import small_request


class _Seen(Exception):
    """Stops the run at the guidance forward that follows step 0's update."""


def update_strength(model, scheduler: str, steps: int = 20, size: int = 64) -> tuple[float, float, float]:
    """One excite update at step 0 (no refinement), seen from the UNet.

    Returns (|Δinput| / (step_size · |dL/d(input)|), cosine(Δinput, -dL/d(input)), sigma-scale c²).
    """
    unet = model.pipe.unet
    excite_inputs: list[torch.Tensor] = []
    input_grads: list[torch.Tensor] = []
    guidance_inputs: list[torch.Tensor] = []

    def watch(module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        if sample.requires_grad:  # the excite forward: keep its input and the gradient reaching it
            excite_inputs.append(sample.detach().clone())
            sample.register_hook(lambda grad: input_grads.append(grad.detach().clone()))
            return None
        guidance_inputs.append(sample[-1:].detach().clone())  # the text half of the guidance batch
        raise _Seen

    hook = unet.register_forward_pre_hook(watch, with_kwargs=True)
    request = small_request(steps=steps, width=size, height=size, scheduler=scheduler,
                            excite={"thresholds": (), "max_iter_to_alter": 1, "scale_range": (1.0, 1.0)})
    try:
        with pytest.raises(_Seen):
            generate(model, request)
    finally:
        hook.remove()
    step_size = request.excite.scale_factor  # scale_range (1, 1): every step's size is the scale factor
    (before,), (after,), (grad,) = excite_inputs, guidance_inputs, input_grads
    change = (after.float() - before.float()).flatten()
    expected = (-step_size * grad.float()).flatten()
    ratio = (change.norm() / expected.norm()).item()
    cosine = torch.nn.functional.cosine_similarity(change, expected, dim=0).item()
    return ratio, cosine, _c_squared(model, scheduler, steps)


def _c_squared(model, scheduler: str, steps: int) -> float:
    """sigma^2 + 1 at the first step (1 for DDIM/PNDM/DPM++): for the printed table, not asserted."""
    fresh = make_scheduler(model.pipe.scheduler, scheduler)
    fresh.set_timesteps(steps)
    scale = fresh.scale_model_input(torch.ones(1), fresh.timesteps[0])
    return float(1.0 / scale.item() ** 2)


SAMPLERS = sorted(SCHEDULERS)


@pytest.mark.parametrize("scheduler", SAMPLERS)
@pytest.mark.parametrize("family", ["SD 1.x", "SDXL"])
def test_update_moves_the_unet_input_by_step_size_times_its_gradient(tiny_model, tiny_sdxl_model, family, scheduler):
    ratio, cosine, c_squared = update_strength(tiny_model if family == "SD 1.x" else tiny_sdxl_model, scheduler)
    print(f"{family} | {scheduler} | c² {c_squared:.2f} | ratio {ratio:.6f} | cosine {cosine:.6f}")
    assert cosine == pytest.approx(1.0, abs=1e-4)
    assert ratio == pytest.approx(1.0, rel=1e-3)
