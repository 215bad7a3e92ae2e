"""Random-weight models with the full SD 1.5 and SDXL architectures, built from configs (no download).

SD 1.5 comes from the bundled single-file configs (resources/configs/sd1). SDXL comes from
resources/configs/sdxl when this checkout bundles it, else from the published SDXL base 1.0
architecture (the values below). `--smoke` uses the tiny test models instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "resources" / "configs"

# SDXL base 1.0: UNet 320/640/1280 with no attention at the first level, 2 and 10 transformer layers
# at the others, 2048-wide text states (CLIP ViT-L 768 + OpenCLIP bigG 1280 side by side), pooled
# bigG output + six size/crop numbers as added conditioning; VAE like SD's with scaling 0.13025.
SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), use_linear_projection=True,
    cross_attention_dim=2048, addition_embed_type="text_time", addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816, norm_num_groups=32,
)
SDXL_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    sample_size=1024, scaling_factor=0.13025, force_upcast=True,
)
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
              projection_dim=768, hidden_act="quick_gelu")
OPENCLIP_BIGG = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32,
                     projection_dim=1280, hidden_act="gelu")
SDXL_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
                      timestep_spacing="leading", prediction_type="epsilon")


def sd15_components(device: str, dtype: Any) -> dict[str, Any]:
    """{unet, vae, text_encoder, tokenizer, scheduler} with SD 1.5's architecture and random weights."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from aae_desktop.engine.models.single_file import family_tokenizer

    folder = CONFIGS / "sd1"
    torch.manual_seed(0)
    with torch.device(device):  # random init on the device itself: seconds instead of a minute
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    scheduler = PNDMScheduler.from_config(PNDMScheduler.load_config(folder / "scheduler"))
    return _finish(dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=family_tokenizer("sd1"),
                        scheduler=scheduler), dtype)


def sdxl_components(device: str, dtype: Any) -> tuple[dict[str, Any], str]:
    """SDXL base's architecture with random weights, and where the configs came from."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from aae_desktop.resources_path import tokenizer_dir

    folder = CONFIGS / "sdxl"
    bundled = (folder / "unet" / "config.json").is_file()
    torch.manual_seed(0)
    with torch.device(device):
        if bundled:
            unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
            vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
            text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
            text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(folder / "text_encoder_2"))
        else:
            unet = UNet2DConditionModel(**SDXL_UNET)
            vae = AutoencoderKL(**SDXL_VAE)
            text_encoder = CLIPTextModel(CLIPTextConfig(**_text(CLIP_L)))
            text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**_text(OPENCLIP_BIGG)))
    scheduler = (EulerDiscreteScheduler.from_config(EulerDiscreteScheduler.load_config(folder / "scheduler"))
                 if bundled else EulerDiscreteScheduler(**SDXL_SCHEDULER))
    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True)
    tokenizer_2 = CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True, pad_token="!")
    components = dict(unet=unet, vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                      tokenizer=tokenizer, tokenizer_2=tokenizer_2, scheduler=scheduler)
    return _finish(components, dtype), "resources/configs/sdxl" if bundled else "SDXL base 1.0 facts in this script"


def tiny_sd_components(device: str, dtype: Any) -> dict[str, Any]:
    from aae_desktop.engine.models.tiny_model import tiny_components

    return _finish(_to(tiny_components(seed=0), device), dtype)


def tiny_sdxl_components(device: str, dtype: Any) -> tuple[dict[str, Any], str] | None:
    """The tiny SDXL test model, once this checkout has one (None before)."""
    from aae_desktop.engine.models import tiny_model

    build = getattr(tiny_model, "tiny_sdxl_components", None)
    if build is None:
        return None
    return _finish(_to(build(seed=0), device), dtype), "tiny_model.tiny_sdxl_components"


def _text(arch: dict[str, Any]) -> dict[str, Any]:
    return dict(arch, vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
                pad_token_id=49407, layer_norm_eps=1e-05)


def _to(components: dict[str, Any], device: str) -> dict[str, Any]:
    for value in components.values():
        if hasattr(value, "to") and hasattr(value, "parameters"):
            value.to(device)
    return components


def _finish(components: dict[str, Any], dtype: Any) -> dict[str, Any]:
    for value in components.values():
        if hasattr(value, "parameters"):
            value.to(dtype)
            value.eval()
            value.requires_grad_(False)
    return components


def sd_pipelines(components: dict[str, Any]) -> tuple[Any, Any]:
    """(ours, reference) pipelines sharing the same modules."""
    from diffusers import StableDiffusionPipeline
    from diffusers.pipelines.deprecated.stable_diffusion_attend_and_excite.pipeline_stable_diffusion_attend_and_excite import (  # noqa: E501
        StableDiffusionAttendAndExcitePipeline,
    )

    extra = dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    ours = StableDiffusionPipeline(**components, **extra)
    reference = StableDiffusionAttendAndExcitePipeline(**components, **extra)
    reference.set_progress_bar_config(disable=True)
    return ours, reference


def sdxl_pipeline(components: dict[str, Any]) -> Any:
    from diffusers import StableDiffusionXLPipeline

    return StableDiffusionXLPipeline(**components)
