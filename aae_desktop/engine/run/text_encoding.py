"""Prompt -> text-encoder states for the UNet, with A1111's "Clip skip".

A1111's Clip skip N conditions on the text encoder's N-th layer from the end, passed through the
encoder's final layer norm (1 = the last layer, the normal output; 2 = the one before it, which
many anime fine-tunes expect). diffusers' `encode_prompt(clip_skip=k)` counts layers *skipped*
(hidden_states[-(k + 1)]), so A1111 N would be diffusers N - 1 -- but we cannot use that path:

- diffusers (0.42) looks the layer norm up as `text_encoder.text_model.final_layer_norm`, which
  transformers 5 no longer has (CLIPTextModel holds `final_layer_norm` itself): it raises.
- diffusers skips layers for the prompt only and encodes the negative (or empty unconditional)
  prompt from the last layer, while A1111 skips the same layers on both sides; with one side
  skipped, guidance would push along the difference between two layers, not two prompts.

So with a skip, both sides are tokenized as diffusers does (padded to 77, truncated, textual
inversion tokens expanded) and read from the same layer. Without one (N = 1), diffusers'
encode_prompt runs unchanged, which keeps the engine identical to the reference.
"""
from __future__ import annotations

from typing import Any

import torch

from aae_desktop.engine.errors import InvalidRequest


def diffusers_clip_skip(a1111_clip_skip: int) -> int | None:
    """A1111's Clip skip (1 = none) as diffusers' encode_prompt(clip_skip=...) counts it."""
    return a1111_clip_skip - 1 if a1111_clip_skip > 1 else None


def encoder_depth(pipe: Any) -> int | None:
    config = getattr(getattr(pipe, "text_encoder", None), "config", None)
    return getattr(config, "num_hidden_layers", None)


def encode_prompts(pipe: Any, prompt: str, negative_prompt: str, device: torch.device, use_cfg: bool,
                   clip_skip: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(prompt states, negative states or None without guidance), each (1, 77, width)."""
    if diffusers_clip_skip(clip_skip) is None:
        return pipe.encode_prompt(prompt, device, 1, use_cfg, negative_prompt or None)
    depth = encoder_depth(pipe)
    if depth is not None and clip_skip > depth:
        raise InvalidRequest(f"{{field}} {clip_skip} is more than this model's text encoder has layers ({depth}).",
                             "clip_skip")
    positive = encode_from_layer(pipe, prompt, device, clip_skip)
    negative = encode_from_layer(pipe, negative_prompt or "", device, clip_skip) if use_cfg else None
    return positive, negative


def encode_from_layer(pipe: Any, text: str, device: torch.device, layer_from_end: int) -> torch.Tensor:
    """One prompt's states from the `layer_from_end`-th layer from the end, final layer norm applied."""
    encoder, tokenizer = pipe.text_encoder, pipe.tokenizer
    if hasattr(pipe, "maybe_convert_prompt"):  # textual inversion tokens, as encode_prompt expands them
        text = pipe.maybe_convert_prompt(text, tokenizer)
    tokens = tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                       return_tensors="pt")
    mask = tokens.attention_mask.to(device) if getattr(encoder.config, "use_attention_mask", False) else None
    output = encoder(tokens.input_ids.to(device), attention_mask=mask, output_hidden_states=True)
    # transformers < 5 wraps the layers in `text_model`; 5 holds them on the model itself.
    final_norm = getattr(encoder, "text_model", encoder).final_layer_norm
    return final_norm(output.hidden_states[-layer_from_end]).to(dtype=encoder.dtype, device=device)
