"""Tiny random models of SD 2.x's architecture, built from the SD 2.x configs bundled in resources/configs.

Every key of the real configs is kept (linear projections in the transformers, one head count per
UNet level, upcast attention for the 768 px model, the OpenCLIP-shaped text encoder with gelu and
its own token ids, the scheduler as shipped) and only the sizes are scaled down, so the engine
meets SD 2.x's layout rather than SD 1.x's UNet with "!" padding. Random weights, seeded.
"""
from __future__ import annotations

import json
from typing import Any

import diffusers
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from aae_desktop.resources_path import resource, tokenizer_dir

TEXT_WIDTH = 64  # SD 2.x's 1024, scaled down (as every other width here)


def _config(family: str, part: str, file: str = "config.json") -> dict[str, Any]:
    config = json.loads(resource("configs", family, part, file).read_text())
    return {k: v for k, v in config.items() if not k.startswith("_")}


def tiny_sd2_components(family: str = "sd2", seed: int = 0) -> dict[str, Any]:
    """{unet, vae, text_encoder, tokenizer, scheduler} for family "sd2" (epsilon) or "sd2v" (v-prediction)."""
    unet_config = _config(family, "unet")
    # The traits that make it SD 2.x, checked so a change in the bundled configs cannot hollow this out.
    assert unet_config["use_linear_projection"] is True
    assert isinstance(unet_config["attention_head_dim"], list) and len(set(unet_config["attention_head_dim"])) > 1
    unet_config.update(
        block_out_channels=[32, 32, 64, 64],
        attention_head_dim=[2, 2, 4, 4],  # a head count per level, as SD 2.x's [5, 10, 20, 20]
        cross_attention_dim=TEXT_WIDTH, layers_per_block=1, sample_size=16,
    )
    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_config(unet_config)

    vae_config = _config("sd2", "vae")
    vae_config.update(block_out_channels=[32, 32, 32, 32], layers_per_block=1, sample_size=128)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL.from_config(vae_config)

    text_config = _config(family, "text_encoder")
    assert text_config["hidden_act"] == "gelu" and text_config["hidden_size"] == 1024  # OpenCLIP ViT-H's shape
    text_config.update(hidden_size=TEXT_WIDTH, intermediate_size=4 * TEXT_WIDTH, num_attention_heads=4,
                       num_hidden_layers=2, projection_dim=TEXT_WIDTH // 2)
    text_config.pop("architectures", None)
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_config))

    tokenizer_map = json.loads(resource("configs", family, "tokenizer", "special_tokens_map.json").read_text())
    assert tokenizer_map["pad_token"] == "!"  # OpenCLIP pads with "!", not end-of-text
    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True, pad_token="!")

    scheduler_config = json.loads(resource("configs", family, "scheduler", "scheduler_config.json").read_text())
    scheduler = getattr(diffusers, scheduler_config["_class_name"]).from_config(scheduler_config)
    for module in (unet, vae, text_encoder):
        module.eval()
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": scheduler}
