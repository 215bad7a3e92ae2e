"""SDXL in the engine: same image as diffusers' StableDiffusionXLPipeline with exciting off, and every
Attend-and-Excite feature on the tiny SDXL-topology model (three levels, several transformer layers)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from aae_desktop.engine.run.attention import CapturingCrossAttnProcessor, cross_attention_grids
from aae_desktop.engine.run.conditioning import encode_conditioning
from aae_desktop.engine.errors import GenerationCancelled
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
from aae_desktop.engine.tokens import tokenize_prompt
from tests.engine.helpers import small_request


def sdxl_request(**changes):
    changes.setdefault("guidance_scale", 5.0)
    return small_request(**changes)


@pytest.fixture(scope="module")
def reference(tiny_sdxl_components):
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(**tiny_sdxl_components, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize(
    "changes",
    [
        {},  # no negative prompt: the pipeline's force_zeros_for_empty_prompt rule (zeros, not "")
        {"negative_prompt": "blurry, low quality", "seed": 3, "width": 96, "height": 64},
        {"scheduler": "dpmpp_2m_karras", "guidance_scale": 7.0, "width": 64, "height": 104},
    ],
    ids=["no-negative", "negative-non-square", "other-scheduler"],
)
def test_same_image_as_the_sdxl_pipeline_with_exciting_off(tiny_sdxl_model, reference, changes):
    from diffusers import DPMSolverMultistepScheduler

    request = sdxl_request(excite={"enabled": False}, **changes)
    ours = generate(tiny_sdxl_model, request, preview_every=0).images[0]
    original = reference.scheduler
    # The reference's sampler is built with diffusers alone: "DPM++ 2M Karras" as diffusers spells it.
    reference.scheduler = {
        "default": original,
        "dpmpp_2m_karras": DPMSolverMultistepScheduler.from_config(
            original.config, use_karras_sigmas=True, algorithm_type="dpmsolver++", solver_order=2),
    }[request.scheduler]
    try:
        theirs = reference(
            prompt=request.prompt, negative_prompt=request.negative_prompt or None, height=request.height,
            width=request.width, num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(request.seed),
        ).images[0]
        used = type(reference.scheduler).__name__
    finally:
        reference.scheduler = original
    assert ours.scheduler == used
    a, b = np.asarray(ours.image).astype(int), np.asarray(theirs).astype(int)
    assert a.shape == b.shape == (request.height, request.width, 3)
    assert np.abs(a - b).max() <= 1


def test_empty_negative_prompt_is_zeros_and_a_negative_prompt_is_encoded(tiny_sdxl_model):
    plain = encode_conditioning(tiny_sdxl_model, sdxl_request())
    assert plain.guided
    negative_half = plain.guidance["encoder_hidden_states"][0]
    assert torch.count_nonzero(negative_half) == 0
    assert torch.count_nonzero(plain.guidance["added_cond_kwargs"]["text_embeds"][0]) == 0
    with_negative = encode_conditioning(tiny_sdxl_model, sdxl_request(negative_prompt="blurry"))
    assert torch.count_nonzero(with_negative.guidance["encoder_hidden_states"][0]) > 0
    # Size conditioning: (original h, w, crop top, left, target h, w), for both halves.
    wide = encode_conditioning(tiny_sdxl_model, sdxl_request(width=96, height=64))
    assert wide.guidance["added_cond_kwargs"]["time_ids"].tolist() == [[64, 96, 0, 0, 64, 96]] * 2
    assert wide.excite["encoder_hidden_states"].shape == (1, 77, 64)  # both encoders side by side


def test_both_tokenizers_put_words_at_the_same_indices(tiny_sdxl_model):
    pipe = tiny_sdxl_model.pipe
    prompt = "a photorealistic red cat and a blue frog"
    first, second = pipe.tokenizer(prompt).input_ids, pipe.tokenizer_2(prompt).input_ids
    assert first == second  # same BPE: index i is the same word piece for both encoders
    padded = pipe.tokenizer_2(prompt, padding="max_length", max_length=77).input_ids
    assert padded[len(first)] == pipe.tokenizer_2.convert_tokens_to_ids("!")  # ... only the padding differs
    assert tokenize_prompt(pipe.tokenizer, prompt).indices_for_words(["cat", "frog"]) == [5, 9]


def test_loss_reads_every_cross_attention_layer_of_the_lowest_level_and_stops_after_the_last(tiny_sdxl_model):
    unet = tiny_sdxl_model.pipe.unet
    grids = cross_attention_grids(unet, 16, 24)
    at_lowest = [name for name, (grid, _) in grids.items() if grid == (4, 6)]
    # Level 2: 2 down attentions x 3 layers, the mid block's 3, 3 up attentions x 3 layers.
    assert len(at_lowest) == 18
    assert {name.split(".")[0] for name in at_lowest} == {"down_blocks", "mid_block", "up_blocks"}
    assert not any(grid == (16, 24) for grid, _ in grids.values())  # no attention at the first level

    seen, calls = [], {"up1": 0, "conv_out": 0, "unet": 0}
    original = CapturingCrossAttnProcessor.__call__

    def spy(self, attn, hidden_states, *args, **kwargs):
        if self.state.active:
            seen.append(hidden_states.shape[1])
        return original(self, attn, hidden_states, *args, **kwargs)

    hooks = [unet.up_blocks[1].register_forward_pre_hook(lambda *a: calls.__setitem__("up1", calls["up1"] + 1)),
             unet.conv_out.register_forward_pre_hook(lambda *a: calls.__setitem__("conv_out", calls["conv_out"] + 1)),
             unet.register_forward_pre_hook(lambda *a: calls.__setitem__("unet", calls["unet"] + 1))]
    CapturingCrossAttnProcessor.__call__ = spy
    try:
        request = sdxl_request(steps=3, width=192, height=128, excite={"max_iter_to_alter": 1, "thresholds": ()})
        result = generate(tiny_sdxl_model, request, preview_every=0).images[0]
    finally:
        CapturingCrossAttnProcessor.__call__ = original
        for hook in hooks:
            hook.remove()
    assert seen == [24] * 18  # one gradient forward, every layer at 4x6, nothing else explicit
    guidance_forwards = 3
    assert calls["unet"] == guidance_forwards + 1
    assert calls["up1"] == calls["conv_out"] == guidance_forwards  # the gradient forward stopped in up_blocks[0]
    assert {m.shape for m in result.attention_maps.values()} == {(4, 6)}


def test_attend_and_excite_features_work_for_sdxl(tiny_sdxl_model):
    events = []
    # With the end-of-text softmax stop the 4 word tokens of the random model share ~0.2 each.
    request = sdxl_request(num_images=2, excite={"max_iter_to_alter": 2, "thresholds": ((0, 0.5), (2, 0.9))})
    result = generate(tiny_sdxl_model, request, on_step=events.append, preview_every=2)
    assert [img.seed for img in result.images] == [7, 8]
    first = result.images[0]
    phases = {r.phase for r in first.loss_history}
    assert phases == {"exciting", "refining"}  # the random model never reaches these thresholds
    refining_at_0 = [r for r in first.loss_history if r.phase == "refining" and r.step == 0]
    assert len(refining_at_0) == request.excite.max_refinement_steps  # capped, then re-measured
    assert set(first.attention_maps) == {2, 5} and first.attention_maps[2].shape == (4, 4)
    previews = [e.preview for e in events if e.preview is not None]
    assert previews and previews[0].size == (16, 16)
    # With exciting on the image differs from the plain one (same seed).
    plain = generate(tiny_sdxl_model, request.with_excite(enabled=False).replace(num_images=1), preview_every=0)
    assert np.abs(np.asarray(first.image).astype(int) - np.asarray(plain.images[0].image).astype(int)).max() > 0
    # Image 2 of the batch reproduces alone.
    alone = generate(tiny_sdxl_model, result.images[1].request, preview_every=0).images[0]
    assert np.array_equal(np.asarray(alone.image), np.asarray(result.images[1].image))


def test_cancel_during_sdxl_refinement_restores_the_processors(tiny_sdxl_model):
    cancel = threading.Event()
    unet = tiny_sdxl_model.pipe.unet
    before = {name: type(p) for name, p in unet.attn_processors.items()}

    def on_step(event):
        if event.phase == "refining" and event.refinement_iteration == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        generate(tiny_sdxl_model, sdxl_request(), on_step=on_step, cancel=cancel)
    assert {name: type(p) for name, p in unet.attn_processors.items()} == before


def test_fp16_sdxl_keeps_its_vae_in_fp32_and_renders_on_the_cpu(tiny_sdxl_components, monkeypatch):
    from diffusers import StableDiffusionXLPipeline

    from aae_desktop.engine.models import loaded_model

    # The loaders run fp16 as fp32 on the CPU; the fp16 path is what is tested here, so ask for it directly.
    monkeypatch.setattr(loaded_model, "resolve_dtype", lambda device, precision="auto": torch.float16)
    pipe = StableDiffusionXLPipeline(**tiny_sdxl_components, add_watermarker=False)
    model = wrap_pipeline(pipe, "tiny-sdxl-fp16", LoadOptions(device="cpu", precision="fp16"))
    try:
        assert model.family == "sdxl" and pipe.unet.dtype == torch.float16
        assert pipe.vae.dtype == torch.float32  # SDXL's VAE config asks for upcasting (force_upcast)
        image = generate(model, sdxl_request(steps=2, width=64, height=64,
                                             excite={"max_iter_to_alter": 1, "thresholds": ()})).images[0].image
        assert image.size == (64, 64) and np.asarray(image).std() > 0
    finally:
        for module in (pipe.unet, pipe.vae, pipe.text_encoder, pipe.text_encoder_2):
            module.to(torch.float32)  # the components are shared with the other tests
