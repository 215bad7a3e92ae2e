"""Prompt encoding per family: the UNet keyword arguments of the excite and the guidance forwards.

Each family's `conditioning` names one encoder here. The pipeline's own `encode_prompt` does the
text encoding, so prompts, padding and the empty-negative rule are exactly the pipeline's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from aae_desktop.engine.errors import InvalidRequest, ModelLoadError
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.engine.run.text_encoding import encode_prompts
from aae_desktop.engine.tokens import engine_prompt


@dataclass(frozen=True)
class Conditioning:
    """What the UNet is called with besides the latents and the timestep."""

    excite: dict[str, Any]  # batch 1, the prompt alone: what the gradient forward sees
    guidance: dict[str, Any]  # batch 2 [negative, prompt] with classifier-free guidance, else batch 1
    guided: bool  # whether `guidance` carries the negative half

    @property
    def prompt_embeds(self) -> torch.Tensor:
        return self.excite["encoder_hidden_states"]


def execution_device(pipe: Any) -> torch.device:
    return getattr(pipe, "_execution_device", None) or pipe.unet.device


def encode_conditioning(model: Any, request: GenerationRequest,
                        embedding_tokens: Mapping[str, str] | None = None) -> Conditioning:
    """Encode `request`'s prompts once for the whole batch, as the model's family needs.

    The text encoders get the prompts without LoRA tags and with each embedding word replaced by
    the token its vectors were loaded under (`embedding_tokens`, from addon_loading.prepare_addons).
    """
    encoder = _ENCODERS[model.family_spec.conditioning]
    tokens = embedding_tokens or {}
    texts = request.replace(prompt=engine_prompt(request.prompt, tokens),
                            negative_prompt=engine_prompt(request.negative_prompt, tokens))
    with torch.no_grad():
        return encoder(model.pipe, texts)


def _encode_single(pipe: Any, request: GenerationRequest) -> Conditioning:
    """SD 1.x/2.x: one text encoder's last hidden state; an empty negative prompt encodes ""."""
    guided = request.guidance_scale > 1.0
    # Clip skip reads an earlier layer for both prompts (engine/run/text_encoding.py); 1 is encode_prompt itself.
    positive, negative = encode_prompts(pipe, request.prompt, request.negative_prompt, execution_device(pipe),
                                        guided, request.clip_skip)
    both = torch.cat([negative, positive]) if guided else positive
    return Conditioning({"encoder_hidden_states": positive}, {"encoder_hidden_states": both}, guided)


# SDXL conditions on both encoders' layer before the last: what A1111's "Clip skip 2" asks of SD 1.x.
# A1111 ignores Clip skip for SDXL and Forge/ComfyUI read max(skip, 2), so PNGs of SDXL fine-tunes
# made for "Clip skip 2" (Pony, Illustrious, ...) carry it; 1 and 2 both mean the native layer here.
SDXL_NATIVE_CLIP_SKIP = 2


def _encode_sdxl(pipe: Any, request: GenerationRequest) -> Conditioning:
    """SDXL: both encoders' states side by side, the second one's pooled output, and size/crop ids.

    With no negative prompt the pipeline's own rule applies: if its config says
    force_zeros_for_empty_prompt (SDXL base does), the negative half is zeros, not an encoded "".
    """
    if request.clip_skip > SDXL_NATIVE_CLIP_SKIP:
        # A deeper skip would have to read both encoders from an earlier layer on both sides; diffusers
        # only skips for the prompt (see text_encoding.py), so it is not offered.
        raise InvalidRequest(f"{{field}} {request.clip_skip} is not available for SDXL models: they already read "
                             "the layer before the last, which is Clip skip 2 (1 and 2 give the same image).",
                             "clip_skip")
    guided = request.guidance_scale > 1.0
    positive, negative, pooled, negative_pooled = pipe.encode_prompt(
        prompt=request.prompt, device=execution_device(pipe), num_images_per_prompt=1,
        do_classifier_free_guidance=guided, negative_prompt=request.negative_prompt or None,
    )
    time_ids = size_conditioning(pipe, request.height, request.width, pooled.shape[-1], positive.dtype)
    time_ids = time_ids.to(positive.device)
    excite = {"encoder_hidden_states": positive,
              "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
    if not guided:
        return Conditioning(excite, excite, False)
    # The negative half gets the same size conditioning (the pipeline's default).
    guidance = {"encoder_hidden_states": torch.cat([negative, positive]),
                "added_cond_kwargs": {"text_embeds": torch.cat([negative_pooled, pooled]),
                                      "time_ids": torch.cat([time_ids, time_ids])}}
    return Conditioning(excite, guidance, True)


def size_conditioning(pipe: Any, height: int, width: int, pooled_width: int, dtype: torch.dtype) -> torch.Tensor:
    """SDXL's micro-conditioning: (original h, w, crop top, left, target h, w) = (h, w, 0, 0, h, w).

    The UNet embeds each of the six numbers and appends the pooled text embedding; a model whose
    config does not add up to its embedding layer gets a clear load-type error instead of a matmul error.
    """
    ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=dtype)
    unet = pipe.unet
    expected = unet.add_embedding.linear_1.in_features
    passed = unet.config.addition_time_embed_dim * ids.shape[-1] + pooled_width
    if expected != passed:
        raise ModelLoadError(
            f"This SDXL model's configs disagree: its UNet expects {expected} numbers of added conditioning, "
            f"but its text encoder and time embedding give {passed}."
        )
    return ids


_ENCODERS: dict[str, Callable[[Any, GenerationRequest], Conditioning]] = {
    "single": _encode_single,
    "sdxl": _encode_sdxl,
}
