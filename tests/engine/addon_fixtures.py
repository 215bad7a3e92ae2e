"""Tiny LoRA and embedding files with random weights, in the layouts artists download.

LoRAs target every attention projection (to_q, to_k, to_v, to_out.0) of a tiny UNet and the
self-attention projections of its text encoder(s), in the kohya/A1111 key layout
(`lora_unet_..._attn2_to_k.lora_down.weight` + `.alpha`) or the diffusers/PEFT one
(`unet.....attn2.to_k.lora_A.weight`). Embeddings come as A1111 `.pt` (`string_to_param`),
A1111 `.safetensors` (`emb_params`), diffusers `.bin` and SDXL `clip_l`/`clip_g` pairs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

_UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
_TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")


def _linear_targets(module: torch.nn.Module, suffixes: tuple[str, ...]) -> dict[str, torch.nn.Linear]:
    return {name: m for name, m in module.named_modules()
            if isinstance(m, torch.nn.Linear) and name.endswith(suffixes) and "attn" in name}


def lora_tensors(pipe: Any, layout: str = "kohya", rank: int = 4, seed: int = 0, scale: float = 0.15,
                 text_encoders: bool = True) -> dict[str, torch.Tensor]:
    """A random LoRA for `pipe`'s UNet (and text encoders) in `layout` ("kohya" or "diffusers").

    `scale` keeps the change clearly visible but not so large that the tiny model saturates: at
    0.3 and weight 1.3 it changes pixels by 150/255 and amplifies fp32 round-off to 8/255.
    """
    generator = torch.Generator().manual_seed(seed)
    parts = [("unet", pipe.unet, _UNET_TARGETS)]
    if text_encoders:
        encoders = [("text_encoder", pipe.text_encoder)]
        if getattr(pipe, "text_encoder_2", None) is not None:
            encoders.append(("text_encoder_2", pipe.text_encoder_2))
        parts += [(prefix, encoder, _TEXT_TARGETS) for prefix, encoder in encoders]
    two_encoders = getattr(pipe, "text_encoder_2", None) is not None
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module, targets in parts:
        for name, linear in _linear_targets(module, targets).items():
            down = torch.randn(rank, linear.in_features, generator=generator) * scale
            up = torch.randn(linear.out_features, rank, generator=generator) * scale
            if layout == "kohya":
                kohya_prefix = {"unet": "lora_unet", "text_encoder": "lora_te1" if two_encoders else "lora_te",
                                "text_encoder_2": "lora_te2"}[prefix]
                key = f"{kohya_prefix}_{name.replace('.', '_')}"
                tensors[f"{key}.lora_down.weight"] = down
                tensors[f"{key}.lora_up.weight"] = up
                tensors[f"{key}.alpha"] = torch.tensor(float(rank) / 2)
            else:
                tensors[f"{prefix}.{name}.lora_A.weight"] = down
                tensors[f"{prefix}.{name}.lora_B.weight"] = up
    return tensors


def write_lora(path: str | Path, pipe: Any, layout: str = "kohya", metadata: dict[str, str] | None = None,
               **kwargs: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(lora_tensors(pipe, layout, **kwargs), str(path), metadata=metadata)
    return path


def embedding_vectors(width: int, vectors: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(vectors, width, generator=torch.Generator().manual_seed(seed))


def write_embedding(path: str | Path, widths: tuple[int, ...], vectors: int = 2, seed: int = 0) -> Path:
    """An embedding in the layout its suffix implies: .pt = A1111 string_to_param, .safetensors =
    A1111 emb_params (or clip_l/clip_g when two widths are given), .bin = diffusers {token: vectors}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = [embedding_vectors(w, vectors, seed + i) for i, w in enumerate(widths)]
    if len(widths) == 2:
        save_file({"clip_l": tensors[0], "clip_g": tensors[1]}, str(path))
    elif path.suffix == ".pt":
        torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": tensors[0]},
                    "name": path.stem, "step": 1000}, str(path))
    elif path.suffix == ".bin":
        torch.save({f"<{path.stem}>": tensors[0]}, str(path))
    else:
        save_file({"emb_params": tensors[0]}, str(path))
    return path
