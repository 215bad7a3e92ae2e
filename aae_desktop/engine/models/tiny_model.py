"""Tiny random Stable Diffusion models (SD 1.x and SDXL topology) for tests, benchmarks and --self-test.

The weights are random (seeded), so images are noise-like, but every code path of the engine
runs. SD 1.x: 4 UNet levels with cross-attention in the first three down and last three up
blocks. SDXL: 3 levels, no attention at the first, several transformer layers per block at the
others, two text encoders and "text_time" added conditioning. Both: a VAE with a scale factor of 8
and the real CLIP tokenizer from resources/.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_components(
    seed: int = 0,
    block_out_channels: tuple[int, ...] = (32, 32, 64, 64),
    cross_attention_dim: int = 32,
    layers_per_block: int = 1,
    attention_head_dim: int = 8,
    vae_channels: int = 32,
    text_layers: int = 2,
    scheduler: str = "pndm",
) -> dict[str, Any]:
    """Build {unet, vae, text_encoder, tokenizer, scheduler} with seeded random weights."""
    import torch
    from diffusers import DDIMScheduler, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from aae_desktop.engine.tokens import load_tokenizer

    levels = len(block_out_channels)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        down_block_types=("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=attention_head_dim,
        norm_num_groups=min(32, block_out_channels[0]),
    )
    torch.manual_seed(seed + 1)
    vae = _tiny_vae(vae_channels)
    torch.manual_seed(seed + 2)
    text_config = CLIPTextConfig(
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        hidden_size=cross_attention_dim,
        intermediate_size=cross_attention_dim * 2,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=text_layers,
        vocab_size=49408,
        max_position_embeddings=77,
        projection_dim=cross_attention_dim,
    )
    text_encoder = CLIPTextModel(text_config)
    sd_schedule = dict(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
        set_alpha_to_one=False, clip_sample=False,
    )
    if scheduler == "ddim":
        sched = DDIMScheduler(**sd_schedule)
    else:
        sd_schedule.pop("clip_sample")
        sched = PNDMScheduler(skip_prk_steps=True, **sd_schedule)
    for module in (unet, vae, text_encoder):
        module.eval()
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": load_tokenizer(),
        "scheduler": sched,
    }


def _tiny_vae(channels: int, **config: Any):
    """A 4-level VAE (the 8x downscale of every SD family) with `channels` everywhere."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=[channels] * 4, in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4, layers_per_block=1, norm_num_groups=min(32, channels), sample_size=128, **config,
    )


def tiny_pipeline(seed: int = 0, **kwargs: Any):
    """A diffusers StableDiffusionPipeline around tiny_components (safety checker off)."""
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        **tiny_components(seed, **kwargs), safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )


def save_tiny_model(path: str | Path, seed: int = 0, **kwargs: Any) -> Path:
    """Write a tiny model as a diffusers-format folder (what `--model PATH` accepts)."""
    path = Path(path)
    tiny_pipeline(seed, **kwargs).save_pretrained(str(path), safe_serialization=True)
    return path


def tiny_sdxl_components(
    seed: int = 0,
    block_out_channels: tuple[int, ...] = (32, 64, 64),
    transformer_layers_per_block: tuple[int, ...] = (1, 2, 3),
    layers_per_block: int = 2,
    attention_heads: tuple[int, ...] = (2, 4, 4),
    text_width: int = 32,
    text_width_2: int | None = None,
    time_embed_dim: int = 8,
    vae_channels: int = 32,
    text_layers: int = 2,
) -> dict[str, Any]:
    """{unet, vae, text_encoder, text_encoder_2, tokenizer, tokenizer_2, scheduler} of SDXL's topology.

    As in SDXL: the first level has no attention; the UNet reads both encoders' states side by side
    (text_width + text_width_2) and embeds the second encoder's pooled output plus six size/crop numbers.
    The mid block and the up blocks repeat the deepest level's transformer depth. `text_width_2`
    (default: text_width) gives the second encoder its own width, as SDXL's 768 and 1280: diffusers'
    single-file loader tells the two encoders apart by width.
    """
    import torch
    from diffusers import EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from aae_desktop.engine.tokens import load_tokenizer
    from aae_desktop.resources_path import tokenizer_dir

    levels = len(block_out_channels)
    width_2 = text_width_2 or text_width
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (levels - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (levels - 1) + ("UpBlock2D",),
        transformer_layers_per_block=transformer_layers_per_block,
        attention_head_dim=attention_heads,  # diffusers' SDXL configs put head counts here
        use_linear_projection=True,
        cross_attention_dim=text_width + width_2,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim,
        projection_class_embeddings_input_dim=6 * time_embed_dim + width_2,
        norm_num_groups=min(32, block_out_channels[0]),
    )
    torch.manual_seed(seed + 1)
    vae = _tiny_vae(vae_channels, scaling_factor=0.13025, force_upcast=True)  # SDXL's VAE settings
    def text_config(width: int) -> dict[str, Any]:
        return dict(
            bos_token_id=49406, eos_token_id=49407, hidden_size=width, intermediate_size=width * 2,
            layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=text_layers, vocab_size=49408,
            max_position_embeddings=77, projection_dim=width,
        )

    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(pad_token_id=49407, **text_config(text_width)))
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(pad_token_id=0, hidden_act="gelu", **text_config(width_2)))
    # The second tokenizer is the same BPE but pads with "!" (id 0), as OpenCLIP does.
    tokenizer_2 = CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True, pad_token="!")
    scheduler = EulerDiscreteScheduler(  # SDXL base's scheduler settings
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
        timestep_spacing="leading", interpolation_type="linear", use_karras_sigmas=False,
    )
    for module in (unet, vae, text_encoder, text_encoder_2):
        module.eval()
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "text_encoder_2": text_encoder_2,
        "tokenizer": load_tokenizer(),
        "tokenizer_2": tokenizer_2,
        "scheduler": scheduler,
    }


def tiny_sdxl_pipeline(seed: int = 0, **kwargs: Any):
    """A diffusers StableDiffusionXLPipeline around tiny_sdxl_components (no watermarker)."""
    from diffusers import StableDiffusionXLPipeline

    return StableDiffusionXLPipeline(**tiny_sdxl_components(seed, **kwargs), add_watermarker=False)


def save_tiny_sdxl_model(path: str | Path, seed: int = 0, **kwargs: Any) -> Path:
    """Write a tiny SDXL model as a diffusers-format folder (what `--model PATH` accepts)."""
    path = Path(path)
    tiny_sdxl_pipeline(seed, **kwargs).save_pretrained(str(path), safe_serialization=True)
    return path
