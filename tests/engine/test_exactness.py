"""The fast path is exact: loss and gradient from our truncated, SDPA-elsewhere forward equal a plain
full forward with explicit attention probabilities in every layer, for SD 1.x, SD 2.x and SDXL.

The reference below is deliberately separate and straightforward: its own attention processor
(explicit softmax in every layer, self and cross), a full UNet forward with no early stop, layers
picked by their token count, and its own text softmax, smoothing and loss. Nothing of the
capture code path is reused, so a layer we forget, count twice or stop before would show here.
Its UNet arguments are built with diffusers alone (the pipeline's encode_prompt, SDXL's pooled
text and (h, w, 0, 0, h, w) size ids written out here), so wrong conditioning in our excite pass shows too.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from aae_desktop.engine.run.attention import attention_capture
from aae_desktop.engine.run.conditioning import encode_conditioning
from aae_desktop.engine.run import excite_maths as ae
from aae_desktop.engine.run.excite_step import token_maps_at
from aae_desktop.engine.tokens import tokenize_prompt
from tests.engine.helpers import small_request

PROMPT = "a red cat and a blue frog"
TOKENS = (3, 7)  # cat, frog


@pytest.fixture(scope="module")
def models(tiny_model, tiny_sdxl_model):
    """sd1 and sdxl from the session fixtures; a model of SD 2.x's architecture (linear projections,
    per-level head counts, OpenCLIP-shaped text encoder with "!" padding; EOT softmax stop)."""
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
    from tests.engine.sd2_model import tiny_sd2_components

    parts = tiny_sd2_components("sd2", seed=5)
    sd2 = wrap_pipeline(StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None,
                                                requires_safety_checker=False),
                        "tiny-sd2", LoadOptions(device="cpu", precision="fp32"), family="sd2")
    return {"sd1": tiny_model, "sd2": sd2, "sdxl": tiny_sdxl_model}


class ExplicitAttention:
    """Plain attention with explicit probabilities; keeps every cross-attention probability tensor."""

    def __init__(self, store: list):
        self.store = store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, *args, **kwargs):
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        batch, length, _ = hidden_states.shape
        heads = attn.heads
        q = attn.to_q(hidden_states).view(batch, length, heads, -1).transpose(1, 2)
        k = attn.to_k(context).view(batch, context.shape[1], heads, -1).transpose(1, 2)
        v = attn.to_v(context).view(batch, context.shape[1], heads, -1).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) * attn.scale, dim=-1)  # (batch, heads, n, text)
        if encoder_hidden_states is not None:
            self.store.append(probs)
        out = (probs @ v).transpose(1, 2).reshape(batch, length, -1)
        return attn.to_out[1](attn.to_out[0](out))


def reference_maps(unet, latents, t, unet_kwargs, grid, drop_one=False):
    """Full forward, every layer explicit: the (h, w, text) mean of every cross-attention map with grid's token count."""
    store: list = []
    original = unet.attn_processors
    unet.set_attn_processor(ExplicitAttention(store))
    try:
        unet(latents, t, **unet_kwargs)
    finally:
        unet.set_attn_processor(original)
    h, w = grid
    chosen = [p for p in store if p.shape[2] == h * w]
    if drop_one:
        chosen = chosen[1:]
    return torch.cat([p.reshape(-1, h, w, p.shape[-1]) for p in chosen]).mean(dim=0)


def reference_loss(unet, latents, t, unet_kwargs, grid, stop, smooth=True, drop_one=False):
    """The excite loss, computed here, from reference_maps."""
    maps = reference_maps(unet, latents, t, unet_kwargs, grid, drop_one)
    text = torch.softmax(100 * maps[:, :, 1:stop], dim=-1)
    peaks = []
    for index in TOKENS:
        image = text[:, :, index - 1]
        if smooth:
            # The paper's 3x3 Gaussian (sigma 0.5, offset divided by 2 sigma), reflection padding.
            x = torch.tensor([-1.0, 0.0, 1.0])
            g = torch.exp(-((x / (2 * 0.5)) ** 2)) / (0.5 * math.sqrt(2 * math.pi))
            kernel = (g[:, None] * g[None, :]) / (g[:, None] * g[None, :]).sum()
            image = F.conv2d(F.pad(image[None, None], (1, 1, 1, 1), mode="reflect"), kernel[None, None])[0, 0]
        peaks.append(image.max())
    return max(torch.clamp(1 - p, min=0) for p in peaks)


def _grid(latent_h, latent_w):
    # Two stride-2 downsamplings: SD's level 2 (the paper's 16x16 at 512 px) and SDXL's lowest level.
    return math.ceil(math.ceil(latent_h / 2) / 2), math.ceil(math.ceil(latent_w / 2) / 2)


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
@pytest.mark.parametrize("size", [(128, 128), (192, 128), (136, 200)], ids=["square", "wide", "odd-latents"])
def test_truncated_loss_and_gradient_equal_the_full_explicit_forward(models, family, size):
    check_exact(models[family], family, size)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_truncated_gradient_stays_exact_with_a_lora_loaded(family, tmp_path):
    """PEFT wraps the attention projections the capture reads; the shortcut must still be exact."""
    from aae_desktop.engine.addons import addon_files
    from aae_desktop.engine.addons.addon_loading import loaded_adapter_count, prepare_addons
    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
    from aae_desktop.engine.request import LoraRef
    from aae_desktop.engine.models.tiny_model import tiny_pipeline, tiny_sdxl_pipeline
    from tests.engine.addon_fixtures import write_lora

    pipe = tiny_sdxl_pipeline(0) if family == "sdxl" else tiny_pipeline(0)
    model = wrap_pipeline(pipe, "tiny", LoadOptions(device="cpu", precision="fp32"), family=family)
    path = write_lora(tmp_path / "style.safetensors", pipe, "kohya", seed=2)
    request = small_request(prompt=PROMPT + " <lora:style:0.8>", excite={"token_indices": TOKENS},
                            loras=(LoraRef("style", 0.8, addon_files.lora_hash(path), str(path)),))
    prepare_addons(model, request)
    assert loaded_adapter_count(model.pipe) == 1
    check_exact(model, family, (128, 128), request)


def check_exact(model, family, size, request=None):
    pipe, spec = model.pipe, model.family_spec
    width, height = size
    request = (request or small_request(prompt=PROMPT, excite={"token_indices": TOKENS})).replace(
        width=width, height=height)
    conditioning = encode_conditioning(model, request)
    latent_h, latent_w = height // 8, width // 8
    latents = torch.randn(1, 4, latent_h, latent_w, generator=torch.Generator().manual_seed(1))
    t = torch.tensor(601)
    eot = tokenize_prompt(pipe.tokenizer, PROMPT).eot_index
    stop = eot if spec.softmax_stop_at_eot else -1
    assert stop == (-1 if family == "sd1" else eot)

    ours_latents = latents.clone().requires_grad_(True)
    with torch.enable_grad(), attention_capture(pipe.unet, latent_h, latent_w, level=spec.loss_level) as capture:
        maps = token_maps_at(pipe.unet, ours_latents, t, conditioning.excite, capture, TOKENS,
                             stop if stop != -1 else None)
        ours = ae.excite_loss(ae.max_attention(maps))
        (ours_grad,) = torch.autograd.grad(ours, [ours_latents])

    ref_kwargs = reference_unet_kwargs(pipe, family, height, width)
    ref_latents = latents.clone().requires_grad_(True)
    with torch.enable_grad():
        theirs = reference_loss(pipe.unet, ref_latents, t, ref_kwargs, _grid(latent_h, latent_w), stop)
        (theirs_grad,) = torch.autograd.grad(theirs, [ref_latents])

    assert capture.grid == _grid(latent_h, latent_w)
    ours, theirs = float(ours.detach()), float(theirs.detach())
    assert 0 < theirs < 1 and theirs_grad.abs().max() > 0  # a real loss, not a clamped zero
    # Measured: the losses agree to the last bit, the gradients to 1-4e-6 (relative); fp32 round-off.
    assert abs(ours - theirs) <= 1e-6
    relative = (ours_grad - theirs_grad).norm() / theirs_grad.norm()
    assert relative <= 2e-5, f"gradient differs by {relative:.2e} (relative)"

    # The comparison can fail: leaving out a single layer of the loss level moves the loss past the tolerance.
    with torch.no_grad():
        partial = reference_loss(pipe.unet, latents, t, ref_kwargs, _grid(latent_h, latent_w), stop,
                                 drop_one=True)
    assert abs(float(partial) - theirs) > 1e-6
    if family == "sdxl":
        # ... and so does SDXL's added conditioning: other size ids, or no pooled text, move the loss too.
        for wrong in (reference_unet_kwargs(pipe, family, height + 64, width),
                      reference_unet_kwargs(pipe, family, height, width, zero_pooled=True)):
            with torch.no_grad():
                moved = reference_loss(pipe.unet, latents, t, wrong, _grid(latent_h, latent_w), stop)
            assert abs(float(moved) - theirs) > 1e-6


def reference_unet_kwargs(pipe, family, height, width, zero_pooled=False):
    """The excite forward's UNet arguments for PROMPT alone (no guidance), from diffusers' encode_prompt."""
    device = torch.device("cpu")
    with torch.no_grad():
        if family != "sdxl":
            states, _ = pipe.encode_prompt(PROMPT, device, 1, False)
            return {"encoder_hidden_states": states}
        states, _, pooled, _ = pipe.encode_prompt(prompt=PROMPT, device=device, num_images_per_prompt=1,
                                                  do_classifier_free_guidance=False)
    # SDXL's micro-conditioning for a plain render: original size, crop (0, 0), target size.
    time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=states.dtype)
    pooled = torch.zeros_like(pooled) if zero_pooled else pooled
    return {"encoder_hidden_states": states, "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
