"""SD 2.x with exciting on: the same image as diffusers' StableDiffusionAttendAndExcitePipeline, for
epsilon (SD 2.x 512 px, PNDM as shipped) and v-prediction (SD 2.x 768 px, DDIM as shipped).

The model has SD 2.x's architecture (tests/engine/sd2_model.py). The reference softmaxes the text
attention over positions 1..75 (it drops the start token and the 77th position, whatever the
prompt's length); SD 2.x's default in the engine stops at end-of-text instead, so these requests
set softmax_stop_at_eot=False: the reference's rule. Both samplers feed the UNet the latents as
they are, so the excite update is in the same space on both sides.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
from tests.engine.helpers import small_request
from tests.engine.sd2_model import tiny_sd2_components

reference_module = pytest.importorskip(
    "diffusers.pipelines.deprecated.stable_diffusion_attend_and_excite.pipeline_stable_diffusion_attend_and_excite",
    reason="diffusers no longer ships the reference pipeline",
)

# The random model's attention barely responds at the paper's scale factor of 20; at this one
# exciting moves the image far past the tolerance (the control below).
SCALE_FACTOR = 200.0


@pytest.fixture(scope="module", params=["sd2", "sd2v"])
def models(request):
    """(our loaded model, diffusers' reference pipeline) around the same tiny SD 2.x components."""
    from diffusers import StableDiffusionPipeline

    family = request.param
    parts = tiny_sd2_components(family, seed=3)
    common = dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    ours = wrap_pipeline(StableDiffusionPipeline(**parts, **common), "tiny-sd2", LoadOptions(device="cpu", precision="fp32"),
                         family=family)
    reference = reference_module.StableDiffusionAttendAndExcitePipeline(**parts, **common)
    reference.set_progress_bar_config(disable=True)
    expected = {"sd2": ("PNDMScheduler", "epsilon"), "sd2v": ("DDIMScheduler", "v_prediction")}[family]
    assert (type(parts["scheduler"]).__name__, parts["scheduler"].config.prediction_type) == expected
    return ours, reference


def _request(**excite):
    settings = dict(scale_factor=SCALE_FACTOR, max_refinement_steps=20,  # the reference's fixed cap
                    softmax_stop_at_eot=False)
    settings.update(excite)
    return small_request(negative_prompt="blurry", excite=settings)


def _reference_image(reference, request):
    ex = request.excite
    grid = -(-request.width // 32)
    return reference(
        prompt=request.prompt, token_indices=list(ex.token_indices), height=request.height, width=request.width,
        num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
        negative_prompt=request.negative_prompt or None,
        generator=torch.Generator("cpu").manual_seed(request.seed), max_iter_to_alter=ex.max_iter_to_alter,
        thresholds=dict(ex.thresholds), scale_factor=ex.scale_factor, attn_res=(grid, grid),
    ).images[0]


def _pixels(image) -> np.ndarray:
    return np.asarray(image).astype(int)


def test_same_image_as_the_reference_with_exciting_on(models):
    ours_model, reference = models
    request = _request()
    ours = _pixels(generate(ours_model, request, preview_every=0).images[0].image)
    theirs = _pixels(_reference_image(reference, request))
    plain = _pixels(generate(ours_model, request.with_excite(enabled=False), preview_every=0).images[0].image)
    assert ours.shape == theirs.shape == (request.height, request.width, 3)
    moved, off = int(np.abs(ours - plain).max()), int(np.abs(ours - theirs).max())
    assert moved > 8, f"exciting moved the image only {moved}/255"  # the control
    assert off <= 1, f"{off}/255 from the reference"
