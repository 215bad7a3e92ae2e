"""Test helper: write a diffusers SDXL pipeline as an original (Stability SGM) single-file checkpoint.

The layout is the one SDXL files on model sites use: the UNet and VAE as in the LDM layout (plus
the added-conditioning MLP as label_emb), CLIP ViT-L in transformers' layout under
conditioner.embedders.0.transformer, and OpenCLIP ViT-bigG in OpenCLIP's own layout under
conditioner.embedders.1.model (fused q/k/v projections, transposed text projection). Tests check
the result against diffusers' own SGM -> diffusers converters, so a mistake here fails loudly.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .ldm_layout import clip_to_ldm, unet_to_ldm, vae_to_ldm

# Text widths for a tiny SDXL that is written as a single file: diffusers' single-file loader tells SDXL's two
# text encoders apart by their widths (768 and 1280 in the real model), so they must differ here too.
TINY_SDXL_WIDTHS = {"text_width": 32, "text_width_2": 48}

CLIP_L = "conditioner.embedders.0.transformer."
OPEN_CLIP_G = "conditioner.embedders.1.model."

# transformers CLIP layer names -> OpenCLIP names inside one residual block.
_BLOCK_RENAMES = (("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"),
                  ("self_attn.out_proj", "attn.out_proj"))


def open_clip_to_sgm(text_encoder: Any, prefix: str = OPEN_CLIP_G) -> dict[str, Any]:
    """transformers CLIPTextModelWithProjection -> OpenCLIP keys under `prefix`."""
    import torch

    state = text_encoder.state_dict()
    out: dict[str, Any] = {
        prefix + "token_embedding.weight": state["text_model.embeddings.token_embedding.weight"],
        prefix + "positional_embedding": state["text_model.embeddings.position_embedding.weight"],
        prefix + "ln_final.weight": state["text_model.final_layer_norm.weight"],
        prefix + "ln_final.bias": state["text_model.final_layer_norm.bias"],
        # OpenCLIP multiplies by the projection (x @ P); a Linear stores its transpose.
        prefix + "text_projection": state["text_projection.weight"].T,
    }
    for key, tensor in state.items():
        m = re.match(r"text_model\.encoder\.layers\.(\d+)\.(.*)", key)
        if not m:
            continue
        block, rest = f"{prefix}transformer.resblocks.{m[1]}.", m[2]
        if q := re.fullmatch(r"self_attn\.q_proj\.(weight|bias)", rest):
            qkv = [state[f"text_model.encoder.layers.{m[1]}.self_attn.{p}_proj.{q[1]}"] for p in "qkv"]
            out[f"{block}attn.in_proj_{q[1]}"] = torch.cat(qkv, dim=0)
            continue
        if rest.startswith("self_attn.") and not rest.startswith("self_attn.out_proj"):
            continue  # k/v went into in_proj with q
        for old, new in _BLOCK_RENAMES:
            if rest.startswith(old + "."):
                out[block + new + rest[len(old):]] = tensor
                break
        else:
            raise KeyError(f"no OpenCLIP name for {key}")
    return out


def sdxl_pipeline_to_sgm(pipe: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    state.update(unet_to_ldm(pipe.unet))
    state.update(vae_to_ldm(pipe.vae))
    state.update(clip_to_ldm(pipe.text_encoder, CLIP_L))
    state.update(open_clip_to_sgm(pipe.text_encoder_2))
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def save_sdxl_single_file(pipe: Any, path: Path, metadata: dict | None = None) -> Path:
    from safetensors.torch import save_file

    save_file(sdxl_pipeline_to_sgm(pipe), str(path), metadata=metadata)
    return Path(path)


def sdxl_meta_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of a full-size SDXL base 1.0 single file, from the bundled configs (built on 'meta')."""
    import json

    import transformers
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from aae_desktop.engine.models.single_file import bundled_config_dir

    folder = bundled_config_dir("sdxl")
    index = json.loads((folder / "model_index.json").read_text())
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(str(folder), subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(str(folder), subfolder="vae"))
        texts = [getattr(transformers, index[name][1])(transformers.CLIPTextConfig.from_pretrained(str(folder), subfolder=name))
                 for name in ("text_encoder", "text_encoder_2")]
    parts = (unet_to_ldm(unet), vae_to_ldm(vae), clip_to_ldm(texts[0], CLIP_L), open_clip_to_sgm(texts[1]))
    return {k: tuple(v.shape) for part in parts for k, v in part.items()}
