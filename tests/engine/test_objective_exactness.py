"""Every registered attention objective is exact on the fast path: its loss and gradient from our
truncated, SDPA-elsewhere forward equal those from a full forward with explicit attention in every
layer (the explicit processor and layer choice of test_exactness.py, not the capture code).

A new objective registered in engine/objectives without an example here fails the first test.
"""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.run.attention import attention_capture
from aae_desktop.engine.run.conditioning import encode_conditioning
from aae_desktop.engine.run.excite_step import attention_maps_at
from aae_desktop.engine.objectives.registry import KINDS, AttentionMaps, BindObjective, BoxObjective, ExciteObjective
from aae_desktop.engine.tokens import tokenize_prompt
from tests.engine.helpers import small_request
from tests.engine.test_exactness import PROMPT, _grid, reference_maps

# One example per registered objective, on PROMPT ("a red cat and a blue frog": cat 3, frog 7).
EXAMPLES = {
    "excite": lambda: ExciteObjective((3, 7), smoothed=True),
    # red 2 -> cat 3, blue 6 -> frog 7; prompt tokens 1..7 (end-of-text at 8).
    "bind": lambda: BindObjective(((((2,),), (3,)), (((6,),), (7,))), tuple(range(1, 8))),
    # cat in the left half, "blue frog" (a word of two tokens here) in the right; softmax stop at end-of-text.
    "boxes": lambda: BoxObjective((((3,), (0.0, 0.0, 0.5, 1.0)), ((6, 7), (0.5, 0.25, 1.0, 1.0))), text_stop=8),
}


def test_every_registered_objective_has_an_example():
    assert {kind.name for kind in KINDS} <= set(EXAMPLES)


def _reference_maps(unet, latents, t, unet_kwargs, grid, stop, drop_one=False) -> AttentionMaps:
    return AttentionMaps(reference_maps(unet, latents, t, unet_kwargs, grid, drop_one), stop)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_objective_loss_and_gradient_equal_the_full_explicit_forward(tiny_model, tiny_sdxl_model, family, name):
    model = tiny_model if family == "sd1" else tiny_sdxl_model
    objective = EXAMPLES[name]()
    pipe, spec = model.pipe, model.family_spec
    request = small_request(prompt=PROMPT, excite={"token_indices": (3, 7)})
    conditioning = encode_conditioning(model, request)
    latent_h = latent_w = 16
    latents = torch.randn(1, 4, latent_h, latent_w, generator=torch.Generator().manual_seed(1))
    t = torch.tensor(601)
    stop = tokenize_prompt(pipe.tokenizer, PROMPT).eot_index if spec.softmax_stop_at_eot else None

    ours_latents = latents.clone().requires_grad_(True)
    with torch.enable_grad(), attention_capture(pipe.unet, latent_h, latent_w, level=spec.loss_level) as capture:
        ours = objective.loss(attention_maps_at(pipe.unet, ours_latents, t, conditioning.excite, capture, stop)).loss
        (ours_grad,) = torch.autograd.grad(ours, [ours_latents])

    grid = _grid(latent_h, latent_w)
    ref_latents = latents.clone().requires_grad_(True)
    with torch.enable_grad():
        theirs = objective.loss(_reference_maps(pipe.unet, ref_latents, t, conditioning.excite, grid, stop)).loss
        (theirs_grad,) = torch.autograd.grad(theirs, [ref_latents])

    assert theirs_grad.abs().max() > 0  # a loss that depends on the latents
    # Relative: binding's loss on the tiny random UNet is ~1e-5, excite's ~1.
    tolerance = 1e-5 * abs(float(theirs))
    assert abs(float(ours) - float(theirs)) <= tolerance
    relative = ((ours_grad - theirs_grad).norm() / theirs_grad.norm()).item()
    assert relative <= 2e-5, f"gradient differs by {relative:.2e} (relative)"
    # The comparison can fail: one layer fewer in the reference moves the loss past the tolerance.
    with torch.no_grad():
        partial = objective.loss(_reference_maps(pipe.unet, latents, t, conditioning.excite, grid, stop,
                                                 drop_one=True)).loss
    assert abs(float(partial) - float(theirs)) > tolerance


def test_a_request_turns_on_the_excite_objective_only_when_exciting():
    from aae_desktop.engine.objectives.registry import active_objectives

    on = active_objectives(small_request(excite={"token_indices": (2, 5), "smooth_attentions": False}))
    assert on == [ExciteObjective((2, 5), smoothed=False)]
    assert active_objectives(small_request(excite={"enabled": False})) == []
