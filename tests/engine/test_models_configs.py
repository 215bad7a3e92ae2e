"""The bundled SD 1.x / 2.x configs are the real architectures and consistent with each other (built on 'meta')."""
from __future__ import annotations

import json

import pytest
import torch

from aae_desktop.engine.single_file import bundled_config_dir, family_from_keys, family_tokenizer, single_file_families
from .ldm_layout import clip_to_ldm, unet_to_ldm, vae_to_ldm

# Published parameter counts: SD 1.x UNet 859.52M, SD 2.x UNet 865.91M, the KL-f8 VAE 83.65M,
# CLIP ViT-L/14 text 123.06M, OpenCLIP ViT-H/14 text without its last layer 340.39M.
PARAMS = {
    "sd1": (859_520_964, 83_653_863, 123_060_480),
    "sd2": (865_910_724, 83_653_863, 340_387_840),
    "sd2v": (865_910_724, 83_653_863, 340_387_840),
}


def _meta_models(family):
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = str(bundled_config_dir(family))
    with init_empty_weights():  # real sizes, no memory
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder, subfolder="vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder, subfolder="text_encoder", local_files_only=True))
    return unet, vae, text


@pytest.fixture(scope="module", params=single_file_families())
def family_models(request):
    return request.param, _meta_models(request.param)


def test_parameter_counts_are_the_published_architectures(family_models):
    family, models = family_models
    counts = tuple(sum(p.numel() for p in m.parameters()) for m in models)
    assert counts == PARAMS[family]


def test_components_fit_together(family_models):
    family, (unet, vae, text) = family_models
    cross = unet.down_blocks[0].attentions[0].transformer_blocks[0].attn2.to_k
    assert cross.in_features == text.config.hidden_size == unet.config.cross_attention_dim
    assert unet.config.in_channels == unet.config.out_channels == vae.config.latent_channels
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    assert vae_scale == 8
    assert unet.config.sample_size * vae_scale == vae.config.sample_size
    assert len(unet.config.down_block_types) == len(unet.config.block_out_channels) == len(unet.config.up_block_types)
    assert vae.config.scaling_factor == pytest.approx(0.18215)


def test_scheduler_and_index_match_the_family(family_models):
    import diffusers

    family, _ = family_models
    folder = bundled_config_dir(family)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    for name in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert index[name][0] is not None
    assert index["safety_checker"] == [None, None]
    scheduler_cls = getattr(diffusers, index["scheduler"][1])
    scheduler = scheduler_cls.from_pretrained(str(folder), subfolder="scheduler", local_files_only=True)
    expected = "v_prediction" if family == "sd2v" else "epsilon"
    assert scheduler.config.prediction_type == expected
    assert scheduler.config.num_train_timesteps == 1000


def test_tokenizer_matches_the_text_encoder(family_models):
    family, (_, _, text) = family_models
    tokenizer = family_tokenizer(family)
    assert len(tokenizer) == text.config.vocab_size
    assert tokenizer.model_max_length == text.config.max_position_embeddings == 77
    assert tokenizer.pad_token == ("!" if family.startswith("sd2") else "<|endoftext|>")
    assert tokenizer("a cat and a frog").input_ids == [49406, 320, 2368, 537, 320, 11438, 49407]


def test_sd1_config_written_as_a_checkpoint_is_detected_as_sd1():
    # Shapes of a full-size SD 1.x single file made from the bundled config round-trip through detection.
    unet, vae, text = _meta_models("sd1")
    shapes = {k: tuple(v.shape) for part in (unet_to_ldm(unet), vae_to_ldm(vae), clip_to_ldm(text)) for k, v in part.items()}
    family, _, layout, width = family_from_keys(shapes, "model.safetensors")
    assert (family, layout, width) == ("sd1", "clip", 768)

    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    assert infer_diffusers_model_type({k: torch.empty(v, device="meta") for k, v in shapes.items()}) == "v1"
