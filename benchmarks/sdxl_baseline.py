"""A straightforward SDXL Attend-and-Excite, written the way diffusers' SD reference pipeline works.

There is no reference SDXL Attend-and-Excite, so this is the baseline our engine is measured
against (benchmarks/bench_sdxl.py, benchmarks/device_check.py): explicit attention probabilities in
every attention layer of every UNet pass, a full UNet forward with gradients on every denoising
step (also past max_iter_to_alter, where only threshold steps use it), refinement as the paper's
code does it, and maps stored from every cross-attention layer whose grid is the loss grid. The
SDXL parts follow diffusers' StableDiffusionXLPipeline: its encode_prompt, the
(h, w, 0, 0, h, w) size ids, the VAE upcast. Shared with our engine by design (so the images can
be compared): the gradient forward sees scheduler.scale_model_input(latents), as the guidance
forward does, the update is taken on that input (as the paper's, tuned where input = latents), and
the text softmax stops at the end-of-text token (SDXL's default in the engine).

    from benchmarks.sdxl_baseline import sdxl_attend_and_excite
    image = sdxl_attend_and_excite(pipe, "a cat and a frog", [2, 5], height=256, width=256,
                                   num_inference_steps=10, generator=torch.Generator("cpu").manual_seed(1))
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor

PAPER_THRESHOLDS = {0: 0.05, 10: 0.5, 20: 0.8}


class _ExplicitAttention:
    """Every layer computes its softmax explicitly; cross-attention maps of the loss grid are stored
    while a gradient forward runs (as diffusers' AttendExciteAttnProcessor does)."""

    def __init__(self, store: dict[str, list[torch.Tensor]], place: str, grid_tokens: int):
        self.store, self.place, self.grid_tokens = store, place, grid_tokens

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, *args, **kwargs):
        is_cross = encoder_hidden_states is not None
        context = encoder_hidden_states if is_cross else hidden_states
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(query, key, None)
        if is_cross and probs.requires_grad and probs.shape[1] == self.grid_tokens:
            self.store[self.place].append(probs)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        return attn.to_out[1](attn.to_out[0](out))


def _gaussian_kernel(kernel_size: int, sigma: float) -> torch.Tensor:
    # The paper's kernel: offsets divided by 2*sigma inside the square.
    x = torch.arange(kernel_size, dtype=torch.float32) - (kernel_size - 1) / 2
    g = torch.exp(-((x / (2 * sigma)) ** 2)) / (sigma * math.sqrt(2 * math.pi))
    kernel = g[:, None] * g[None, :]
    return kernel / kernel.sum()


def _max_attention(store, grid, indices, stop, smooth, kernel_size, sigma) -> list[torch.Tensor]:
    h, w = grid
    maps = [m.reshape(-1, h, w, m.shape[-1]) for place in ("up", "down", "mid") for m in store[place]]
    stacked = torch.cat(maps, dim=0)
    aggregated = stacked.sum(0) / stacked.shape[0]
    text = torch.softmax(aggregated[:, :, 1:stop] * 100, dim=-1)
    kernel = _gaussian_kernel(kernel_size, sigma).to(text.device, text.dtype)[None, None]
    peaks = []
    for index in indices:
        image = text[:, :, index - 1]
        if smooth:
            pad = kernel_size // 2
            image = F.conv2d(F.pad(image[None, None], (pad,) * 4, mode="reflect"), kernel)[0, 0]
        peaks.append(image.max())
    return peaks


def _loss(peaks: list[torch.Tensor]) -> torch.Tensor:
    return max(torch.clamp(1.0 - p, min=0) for p in peaks)


@torch.no_grad()
def sdxl_attend_and_excite(
    pipe: Any,
    prompt: str,
    token_indices: list[int],
    *,
    negative_prompt: str | None = None,
    height: int = 1024,
    width: int = 1024,
    num_inference_steps: int = 50,
    guidance_scale: float = 5.0,
    generator: torch.Generator | None = None,
    max_iter_to_alter: int = 25,
    thresholds: dict[int, float] | None = None,
    scale_factor: float = 20.0,
    scale_range: tuple[float, float] = (1.0, 0.5),
    max_refinement_steps: int = 20,
    smooth_attentions: bool = True,
    sigma: float = 0.5,
    kernel_size: int = 3,
    softmax_stop_at_eot: bool = True,
):
    """Render one image with a diffusers StableDiffusionXLPipeline `pipe`; returns a PIL image.

    The initial noise is drawn on the CPU in fp32 from `generator` (a CPU generator), as our engine does.
    """
    thresholds = dict(PAPER_THRESHOLDS if thresholds is None else thresholds)
    device = pipe._execution_device
    unet, scheduler = pipe.unet, pipe.scheduler
    guided = guidance_scale > 1.0

    # 1. Prompts: both encoders, the pooled text, the size ids.
    embeds, negative, pooled, negative_pooled = pipe.encode_prompt(
        prompt=prompt, device=device, num_images_per_prompt=1, do_classifier_free_guidance=guided,
        negative_prompt=negative_prompt)
    time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeds.dtype, device=device)
    excite_kwargs = {"encoder_hidden_states": embeds,
                     "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
    guidance_kwargs = excite_kwargs
    if guided:
        guidance_kwargs = {"encoder_hidden_states": torch.cat([negative, embeds]),
                           "added_cond_kwargs": {"text_embeds": torch.cat([negative_pooled, pooled]),
                                                 "time_ids": torch.cat([time_ids, time_ids])}}
    ids = pipe.tokenizer(prompt).input_ids
    stop = len(ids) - 1 if softmax_stop_at_eot else -1  # the end-of-text token's index

    # 2. Timesteps, noise, step sizes.
    scheduler.set_timesteps(num_inference_steps, device=device)
    timesteps = scheduler.timesteps
    shape = (1, unet.config.in_channels, height // pipe.vae_scale_factor, width // pipe.vae_scale_factor)
    latents = randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    latents = (latents.to(device) * scheduler.init_noise_sigma).to(unet.dtype)
    step_size = scale_factor * np.sqrt(np.linspace(scale_range[0], scale_range[1], len(timesteps)))
    extra = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}

    # 3. Explicit-probability processors on every attention layer; the loss grid is the lowest level.
    grid = (math.ceil(shape[2] / 4), math.ceil(shape[3] / 4))
    store: dict[str, list[torch.Tensor]] = {"up": [], "down": [], "mid": []}
    original = unet.attn_processors
    processors = {}
    for name in original:
        place = "mid" if name.startswith("mid_block") else "up" if name.startswith("up_blocks") else "down"
        processors[name] = _ExplicitAttention(store, place, grid[0] * grid[1])
    unet.set_attn_processor(processors)

    def measure(x, t):
        for maps in store.values():
            maps.clear()
        unet(x, t, **excite_kwargs)
        return _max_attention(store, grid, token_indices, stop, smooth_attentions, kernel_size, sigma)

    try:
        for i, t in enumerate(timesteps):
            # 4. Attend-and-Excite on every step: full forward with gradients, on the latent the UNet
            # reads (the paper's z' = z - alpha * grad L): x = latents / c, with c = sqrt(sigma^2 + 1)
            # on sigma samplers (Euler, SDXL's default) and 1 on DDIM/PNDM. c is the norm ratio.
            x = scheduler.scale_model_input(latents, t).detach()
            c = (latents.double().norm() / x.double().norm()).item()
            with torch.enable_grad():
                x = x.clone().requires_grad_(True)
                loss = _loss(measure(x, t))
                if i in thresholds and loss > 1.0 - thresholds[i]:
                    target, iteration = max(0.0, 1.0 - thresholds[i]), 0
                    while loss > target:
                        iteration += 1
                        x = x.clone().detach().requires_grad_(True)
                        loss = _loss(measure(x, t))
                        if loss != 0:
                            (grad,) = torch.autograd.grad(loss, [x])
                            x = x - step_size[i] * grad
                        if iteration >= max_refinement_steps:
                            break
                    x = x.clone().detach().requires_grad_(True)
                    loss = _loss(measure(x, t))
                if i < max_iter_to_alter and loss != 0:
                    (grad,) = torch.autograd.grad(loss, [x])
                    x = x - step_size[i] * grad
            latents = x.detach() * c if c != 1.0 else x.detach()

            # 5. Guidance forward (explicit attention here too) and the scheduler step.
            model_input = torch.cat([latents] * 2) if guided else latents
            model_input = scheduler.scale_model_input(model_input, t)
            noise = unet(model_input, t, **guidance_kwargs).sample
            if guided:
                uncond, text = noise.chunk(2)
                noise = uncond + guidance_scale * (text - uncond)
            latents = scheduler.step(noise, t, latents, **extra).prev_sample
    finally:
        unet.set_attn_processor(original)

    # 6. Decode, upcasting an fp16 VAE whose config asks for it.
    vae = pipe.vae
    upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
    if upcast:
        vae.to(torch.float32)
    image = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
    if upcast:
        vae.to(torch.float16)
    return pipe.image_processor.postprocess(image, output_type="pil")[0]
