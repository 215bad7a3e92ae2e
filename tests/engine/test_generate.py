"""The denoising loop: callbacks, batches, cancel, restoring processors, errors, schedulers."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from aae_desktop.engine.errors import GenerationCancelled, InvalidRequest, NaNLatents
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.request import SCHEDULERS
from tests.engine.helpers import small_request
from tests.engine.test_sampler_table import TABLE


def _pixels(result, i=0):
    return np.asarray(result.images[i].image).astype(int)


def test_step_events_carry_phases_losses_and_previews(tiny_model):
    events = []
    result = generate(tiny_model, small_request(), on_step=events.append)
    phases = {e.phase for e in events}
    assert {"exciting", "refining", "denoising", "decoding"} <= phases
    excited = [e for e in events if e.phase == "exciting"]
    assert all(e.loss is not None and set(e.token_max_attention) == {2, 5} for e in excited)
    assert all(0 <= v <= 1 for e in excited for v in e.token_max_attention.values())
    previews = [e.preview for e in events if e.preview is not None]
    assert previews and previews[0].size == (16, 16)  # latent resolution
    assert events[-1].phase == "decoding"
    assert [e.fraction for e in events] == sorted(e.fraction for e in events)
    item = result.images[0]
    assert item.image.size == (128, 128)
    assert set(item.attention_maps) == {2, 5} and item.attention_maps[2].shape == (4, 4)
    assert [r.step for r in item.loss_history if r.phase == "exciting"] == [0, 1, 2]


def test_batch_image_i_reproduces_alone_with_seed_plus_i(tiny_model):
    batch = generate(tiny_model, small_request(num_images=2, seed=20))
    assert batch.seeds == [20, 21]
    alone = generate(tiny_model, batch.images[1].request)
    assert batch.images[1].request.seed == 21 and batch.images[1].request.num_images == 1
    assert np.array_equal(_pixels(batch, 1), _pixels(alone))
    assert not np.array_equal(_pixels(batch, 0), _pixels(batch, 1))


def test_no_excite_gives_plain_sd_with_same_seed(tiny_model, tiny_components):
    from diffusers import StableDiffusionPipeline

    request = small_request(negative_prompt="blurry", excite={"scale_factor": 200.0})
    excited = generate(tiny_model, request)
    plain = generate(tiny_model, request.with_excite(enabled=False))
    assert plain.images[0].loss_history == []
    # Plain SD is diffusers' own pipeline, image for image ...
    pipe = StableDiffusionPipeline(**tiny_components, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(prompt=request.prompt, negative_prompt=request.negative_prompt, height=request.height,
                  width=request.width, num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                  generator=torch.Generator("cpu").manual_seed(request.seed)).images[0]
    assert np.abs(_pixels(plain) - np.asarray(theirs).astype(int)).max() <= 1
    # ... and exciting moves it far past that tolerance (the control).
    assert np.abs(_pixels(excited) - _pixels(plain)).max() > 8


def test_cancel_during_refinement_stops_within_one_unet_call_and_pipeline_stays_reusable(tiny_model):
    calls = {"n": 0}
    hook = tiny_model.pipe.unet.register_forward_pre_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    cancel = threading.Event()
    seen = {}

    def on_step(event):
        if event.phase == "refining" and not cancel.is_set():
            cancel.set()
            seen["calls_at_cancel"] = calls["n"]

    try:
        with pytest.raises(GenerationCancelled):
            generate(tiny_model, small_request(), on_step=on_step, cancel=cancel)
    finally:
        hook.remove()
    assert calls["n"] - seen["calls_at_cancel"] <= 1
    fresh = generate(tiny_model, small_request())
    again = generate(tiny_model, small_request())
    assert np.array_equal(_pixels(fresh), _pixels(again))


def test_processors_restored_after_an_error(tiny_model):
    before = {name: type(p) for name, p in tiny_model.pipe.unet.attn_processors.items()}

    def explode(event):
        if event.phase == "refining":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        generate(tiny_model, small_request(), on_step=explode)
    after = {name: type(p) for name, p in tiny_model.pipe.unet.attn_processors.items()}
    assert after == before


def test_nan_latents_raise_a_typed_error(tiny_model):
    request = small_request(excite={"scale_factor": 1e38, "thresholds": ()})
    with pytest.raises(NaNLatents):
        generate(tiny_model, request)


def test_unknown_attention_resolution_lists_the_available_ones(tiny_model):
    with pytest.raises(InvalidRequest, match="available: 16x16, 8x8, 4x4, 2x2"):
        generate(tiny_model, small_request(excite={"attn_res": (5, 5)}))


@pytest.mark.parametrize("width, height, grid", [(192, 128, (4, 6)), (136, 200, (7, 5))])
def test_non_square_and_odd_sizes_render(tiny_model, width, height, grid):
    # 136x200 px is a 17x25 latent: levels 25x17 -> 13x9 -> 7x5 (ceil-halving), maps height-first.
    result = generate(tiny_model, small_request(width=width, height=height, steps=3, excite={"thresholds": ()}))
    item = result.images[0]
    assert item.image.size == (width, height)
    assert item.attention_maps[2].shape == grid


def _sampler_request(name):
    return small_request(scheduler=name, steps=3, excite={"thresholds": ((1, 0.5),), "max_iter_to_alter": 1,
                                                         "max_refinement_steps": 1})


@pytest.fixture(scope="module")
def pndm_pixels(tiny_model):
    return _pixels(generate(tiny_model, _sampler_request("pndm")))


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_scheduler_runs(tiny_model, name, pndm_pixels):
    result = generate(tiny_model, _sampler_request(name))
    # The sampler that ran is the one the hand-written table names (the model's own PNDM for "default").
    ran = result.images[0].scheduler
    assert ran == (TABLE[name][3] if name in TABLE else "PNDMScheduler")
    # ... and it really stepped differently: another sampler's image is far from PNDM's (measured
    # 37-111/255 at 3 steps), the same sampler's is identical. (The random VAE turns any latents,
    # even zeros, into a textured image, so "finite" or "not flat" would prove nothing.)
    if ran == "PNDMScheduler":
        assert np.array_equal(_pixels(result), pndm_pixels)
    else:
        assert np.abs(_pixels(result) - pndm_pixels).max() > 8
    assert type(tiny_model.pipe.scheduler).__name__ == "PNDMScheduler"  # the model's own is untouched


def test_sd2_softmax_stop_changes_what_the_loss_sees(tiny_model):
    request = small_request(steps=2, excite={"thresholds": (), "max_iter_to_alter": 1})
    sd1 = generate(tiny_model, request.with_excite(softmax_stop_at_eot=False)).images[0]
    sd2 = generate(tiny_model, request.with_excite(softmax_stop_at_eot=True)).images[0]
    # Fewer text columns share the softmax, so each word's peak attention is higher.
    assert sd2.loss_history[0].token_max_attention[2] > sd1.loss_history[0].token_max_attention[2]


def test_weights_never_require_grad_and_no_graph_survives_a_step(tiny_model):
    assert not any(p.requires_grad for p in tiny_model.pipe.unet.parameters())
    inputs = []
    hook = tiny_model.pipe.unet.register_forward_pre_hook(
        lambda module, args: inputs.append((args[0].shape[0], args[0].requires_grad, args[0].grad_fn)))
    try:
        generate(tiny_model, small_request(steps=3, excite={"thresholds": (), "max_iter_to_alter": 2}))
    finally:
        hook.remove()
    guidance = [i for i in inputs if i[0] == 2]
    excite = [i for i in inputs if i[0] == 1]
    assert len(excite) == 2 and len(guidance) == 4
    # Excite forwards start from fresh leaves: no graph carried over from an earlier step.
    assert all(requires_grad and grad_fn is None for _, requires_grad, grad_fn in excite)
    assert all(not requires_grad and grad_fn is None for _, requires_grad, grad_fn in guidance)
