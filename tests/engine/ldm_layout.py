"""Test helper: write a diffusers SD 1.x pipeline as an original (LDM/CompVis) single-file checkpoint.

diffusers only converts LDM -> diffusers; the tests need the other direction to produce a
single-file model without downloading one. The key layout below is the original Stable Diffusion
checkpoint layout (facts also visible in diffusers' single_file_utils); tests check it against
diffusers' own forward converter, so a mistake here fails loudly.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_RESNET_RENAMES = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)


def unet_to_ldm(unet: Any) -> dict[str, Any]:
    """UNet2DConditionModel state dict -> 'model.diffusion_model.*' keys."""
    per_level = unet.config.layers_per_block + 1  # LDM counts resnet slots plus a down/upsampler slot
    fixed = {
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "conv_in": "input_blocks.0.0",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
        # SDXL's added (pooled text + size/crop) conditioning MLP; SGM calls it the label embedding.
        "add_embedding.linear_1": "label_emb.0.0",
        "add_embedding.linear_2": "label_emb.0.2",
    }
    up_has_attention = {i: "CrossAttn" in t for i, t in enumerate(unet.config.up_block_types)}
    out: dict[str, Any] = {}
    for key, tensor in unet.state_dict().items():
        new = None
        head, _, param = key.rpartition(".")
        if head in fixed:
            new = f"{fixed[head]}.{param}"
        elif m := re.match(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + b * per_level + j}.0.{_resnet(rest)}"
        elif m := re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + b * per_level + j}.1.{rest}"
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            b, rest = int(m[1]), m[2]
            new = f"input_blocks.{1 + b * per_level + per_level - 1}.0.op.{rest}"
        elif m := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
            new = f"middle_block.{2 * int(m[1])}.{_resnet(m[2])}"
        elif m := re.match(r"mid_block\.attentions\.0\.(.*)", key):
            new = f"middle_block.1.{m[1]}"
        elif m := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{b * per_level + j}.0.{_resnet(rest)}"
        elif m := re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{b * per_level + j}.1.{rest}"
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
            b, rest = int(m[1]), m[2]
            slot = 2 if up_has_attention[b] else 1
            new = f"output_blocks.{b * per_level + per_level - 1}.{slot}.conv.{rest}"
        if new is None:
            raise KeyError(f"no LDM name for UNet key {key}")
        out["model.diffusion_model." + new] = tensor
    return out


def _resnet(rest: str) -> str:
    for diffusers_name, ldm_name in _RESNET_RENAMES:
        if rest.startswith(diffusers_name + "."):
            return ldm_name + rest[len(diffusers_name):]
    raise KeyError(rest)


def vae_to_ldm(vae: Any) -> dict[str, Any]:
    """AutoencoderKL state dict -> 'first_stage_model.*' keys (attention projections as 1x1 convs)."""
    levels = len(vae.config.up_block_types)
    attn_names = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out: dict[str, Any] = {}
    for key, tensor in vae.state_dict().items():
        new = key.replace("conv_norm_out", "norm_out")
        if m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            new = f"encoder.down.{m[1]}.block.{m[2]}.{m[3]}"
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            new = f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            new = f"decoder.up.{levels - 1 - int(m[1])}.block.{m[2]}.{m[3]}"
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
            new = f"decoder.up.{levels - 1 - int(m[1])}.upsample.conv.{m[2]}"
        elif m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
            new = f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3]}"
        elif m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)\.(weight|bias)", key):
            new = f"{m[1]}.mid.attn_1.{attn_names[m[2]]}.{m[3]}"
            if m[3] == "weight" and m[2] != "group_norm":
                tensor = tensor[:, :, None, None]  # LDM used 1x1 convolutions here
        new = new.replace("conv_shortcut", "nin_shortcut")
        out["first_stage_model." + new] = tensor
    return out


def clip_to_ldm(text_encoder: Any, prefix: str = "cond_stage_model.transformer.") -> dict[str, Any]:
    """transformers CLIPTextModel -> '<prefix>text_model.*' keys (SD 1.x; SDXL's first encoder under another prefix)."""
    out: dict[str, Any] = {}
    for key, tensor in text_encoder.state_dict().items():
        key = key if key.startswith("text_model.") else "text_model." + key
        out[prefix + key] = tensor
    return out


def pipeline_to_ldm(pipe: Any) -> dict[str, Any]:
    state = {}
    state.update(unet_to_ldm(pipe.unet))
    state.update(vae_to_ldm(pipe.vae))
    state.update(clip_to_ldm(pipe.text_encoder))
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def save_single_file(pipe: Any, path: Path, fmt: str = "safetensors", metadata: dict | None = None) -> Path:
    """Write the pipeline as one .safetensors (or .ckpt with a Lightning-style 'state_dict')."""
    import torch
    from safetensors.torch import save_file

    state = pipeline_to_ldm(pipe)
    path = Path(path)
    if fmt == "safetensors":
        save_file(state, str(path), metadata=metadata)
    else:
        torch.save({"state_dict": state, "global_step": 0}, str(path))
    return path


def save_config_folder(pipe: Any, folder: Path) -> Path:
    """Only the configs of a pipeline (no weights): the 'config override' a single file is loaded with."""
    import json

    folder = Path(folder)
    pipe.save_pretrained(str(folder / "_full"), safe_serialization=True)
    for src in (folder / "_full").rglob("*.json"):
        dst = folder / src.relative_to(folder / "_full")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(src.read_text())
    for tokenizer in (folder / "_full").glob("tokenizer*"):  # SDXL has tokenizer_2 too
        for src in tokenizer.glob("*"):
            (folder / tokenizer.name / src.name).write_bytes(src.read_bytes())
    import shutil

    shutil.rmtree(folder / "_full")
    json.loads((folder / "model_index.json").read_text())  # fail early if it is not there
    return folder
