"""Clip skip (A1111's count) and eta (DDIM, Euler a) on the tiny model, and in the A1111 text."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.engine.run.text_encoding import diffusers_clip_skip, encode_prompts
from aae_desktop.gallery.a1111 import format_parameters, request_from_parameters

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def plain(**changes) -> GenerationRequest:
    base = dict(model="tiny-random", prompt="a cat and a frog", seed=3, steps=4, width=64, height=64,
                excite=ExciteSettings(enabled=False))
    base.update(changes)
    return GenerationRequest(**base)


def pixels(model, request) -> np.ndarray:
    return np.asarray(generate(model, request).images[0].image).astype(int)


def test_a1111_clip_skip_is_diffusers_skip_plus_one():
    assert [diffusers_clip_skip(n) for n in (1, 2, 3)] == [None, 1, 2]


def test_clip_skip_conditions_both_sides_on_the_same_earlier_layer(tiny_model):
    pipe = tiny_model.pipe
    encoder = pipe.text_encoder

    def layer_from_end(text: str, n: int) -> torch.Tensor:  # A1111's definition, straight from transformers
        ids = pipe.tokenizer(text, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            states = encoder(ids, output_hidden_states=True).hidden_states[-n]
            return getattr(encoder, "text_model", encoder).final_layer_norm(states)  # transformers 4 or 5

    with torch.no_grad():
        positive, negative = encode_prompts(pipe, "a cat and a frog", "blurry", torch.device("cpu"), True, 2)
        plain_pos, plain_neg = encode_prompts(pipe, "a cat and a frog", "", torch.device("cpu"), True, 1)
        _, empty_neg = encode_prompts(pipe, "a cat and a frog", "", torch.device("cpu"), True, 2)
    torch.testing.assert_close(positive, layer_from_end("a cat and a frog", 2))
    torch.testing.assert_close(negative, layer_from_end("blurry", 2))  # diffusers alone would skip nothing here
    torch.testing.assert_close(empty_neg, layer_from_end("", 2))
    torch.testing.assert_close(plain_pos, layer_from_end("a cat and a frog", 1))  # 1 = the normal output
    torch.testing.assert_close(plain_neg, layer_from_end("", 1))
    assert not torch.allclose(positive, plain_pos)


def test_clip_skip_changes_the_image_and_too_deep_a_skip_is_refused(tiny_model):
    assert np.abs(pixels(tiny_model, plain(clip_skip=2)) - pixels(tiny_model, plain())).max() > 0
    depth = tiny_model.pipe.text_encoder.config.num_hidden_layers
    with pytest.raises(InvalidRequest) as caught:
        generate(tiny_model, plain(clip_skip=depth + 1))
    assert caught.value.field == "clip_skip"
    assert caught.value.message_for({"clip_skip": "--clip-skip"}).startswith(f"--clip-skip {depth + 1} is more than")


def test_euler_a_eta_one_is_diffusers_own_and_zero_is_plain_euler(tiny_model):
    ancestral = pixels(tiny_model, plain(scheduler="euler_a"))
    assert (pixels(tiny_model, plain(scheduler="euler_a", eta=1.0)) == ancestral).all()
    euler = pixels(tiny_model, plain(scheduler="euler"))
    calm = pixels(tiny_model, plain(scheduler="euler_a", eta=0.0))
    assert np.abs(calm - euler).max() <= 1  # the same update, less the fresh noise
    half = pixels(tiny_model, plain(scheduler="euler_a", eta=0.5))
    assert np.abs(half - ancestral).max() > 0 and np.abs(half - euler).max() > 0
    assert (pixels(tiny_model, plain(scheduler="euler_a", eta=0.5)) == half).all()  # same seed, same image


def test_ddim_eta_adds_noise_only_when_set(tiny_model):
    deterministic = pixels(tiny_model, plain(scheduler="ddim"))
    assert (pixels(tiny_model, plain(scheduler="ddim", eta=0.0)) == deterministic).all()
    assert np.abs(pixels(tiny_model, plain(scheduler="ddim", eta=0.8)) - deterministic).max() > 0


def test_eta_is_validated_and_a_sampler_that_ignores_it_gets_a_note():
    with pytest.raises(InvalidRequest, match="eta must be between 0 and 1"):
        plain(eta=1.5).validate()
    with pytest.raises(InvalidRequest, match="eta must be between 0 and 1"):
        plain(eta=float("nan")).validate()
    with pytest.raises(InvalidRequest, match="clip_skip must be between 1"):
        plain(clip_skip=0).validate()
    (note,) = plain(scheduler="lms", eta=0.3).validate()
    assert note.message_for({"eta": "Eta", "scheduler": "Sampler"}) == (
        "Eta has no effect with Sampler LMS: only DDIM and Euler a use it.")


def test_a1111_text_writes_them_only_when_not_default_and_reads_them_back():
    assert "Clip skip" not in format_parameters(plain()) and "Eta" not in format_parameters(plain(eta=1.0,
                                                                                                  scheduler="euler_a"))
    text = format_parameters(plain(clip_skip=2, scheduler="euler_a", eta=0.6))
    assert "Clip skip: 2" in text and "Eta: 0.6" in text
    back = request_from_parameters(text)
    assert (back.clip_skip, back.scheduler, back.eta) == (2, "euler_a", 0.6)
    ddim = format_parameters(plain(scheduler="ddim", eta=0.3))
    assert "Eta DDIM: 0.3" in ddim and request_from_parameters(ddim).eta == 0.3
    # "Model default" that turns out to be DDIM (SD 2.x ships it) is named by the class actually used.
    assert "Eta DDIM: 0.3" in format_parameters(plain(eta=0.3), scheduler_class="DDIMScheduler")
    assert "Eta" not in format_parameters(plain(eta=0.0), scheduler_class="DDIMScheduler")


def test_a1111_png_made_elsewhere_restores_clip_skip_and_eta():
    text = ("masterpiece, a fox in the snow\nNegative prompt: lowres\nSteps: 28, Sampler: Euler a, "
            "Schedule type: Automatic, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, "
            "Model: anything-v5, Clip skip: 2, Eta: 0.67, Version: v1.10.1")
    request = request_from_parameters(text)
    assert (request.clip_skip, request.eta, request.scheduler, request.steps) == (2, 0.67, "euler_a", 28)
    assert request.validate() == []


def test_sdxl_reads_its_native_layer_for_clip_skip_1_and_2_and_refuses_deeper(tiny_sdxl_model):
    # A1111 PNGs of SDXL fine-tunes made for "Clip skip 2" must restore and render, as in A1111/Forge.
    one = pixels(tiny_sdxl_model, plain(model="tiny-sdxl"))
    two = pixels(tiny_sdxl_model, plain(model="tiny-sdxl", clip_skip=2))
    assert np.array_equal(one, two)
    with pytest.raises(InvalidRequest) as caught:
        generate(tiny_sdxl_model, plain(model="tiny-sdxl", clip_skip=3))
    assert caught.value.field == "clip_skip"
    assert caught.value.message_for({"clip_skip": "Clip skip"}).startswith("Clip skip 3 is not available for SDXL")
