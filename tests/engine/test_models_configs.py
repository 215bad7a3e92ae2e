"""The bundled SD 1.x / 2.x / SDXL configs are the real architectures and consistent with each other (built on 'meta')."""
from __future__ import annotations

import json

import pytest
import torch

from aae_desktop.engine.models.families import get_family
from aae_desktop.engine.models.single_file import bundled_config_dir, family_from_keys, family_tokenizer, single_file_families
from .ldm_layout import clip_to_ldm, unet_to_ldm, vae_to_ldm

# Published parameter counts (UNet, VAE, then each text encoder): SD 1.x UNet 859.52M, SD 2.x UNet 865.91M,
# the KL-f8 VAE 83.65M, CLIP ViT-L/14 text 123.06M, OpenCLIP ViT-H/14 text without its last layer 340.39M;
# SDXL base 1.0: UNet 2,567.46M, the same VAE shape (83.65M), CLIP ViT-L 123.06M and OpenCLIP ViT-bigG text
# with its projection 694.66M.
PARAMS = {
    "sd1": (859_520_964, 83_653_863, 123_060_480),
    "sd2": (865_910_724, 83_653_863, 340_387_840),
    "sd2v": (865_910_724, 83_653_863, 340_387_840),
    "sdxl": (2_567_463_684, 83_653_863, 123_060_480, 694_659_840),
}


def _meta_models(family):
    """(unet, vae, *text encoders) of a bundled config, built on the meta device from model_index.json's classes."""
    import transformers
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel

    folder = str(bundled_config_dir(family))
    index = json.loads((bundled_config_dir(family) / "model_index.json").read_text())
    with init_empty_weights():  # real sizes, no memory
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder, subfolder="vae"))
        texts = []
        for name in get_family(family).text_encoders:
            config = transformers.CLIPTextConfig.from_pretrained(folder, subfolder=name, local_files_only=True)
            texts.append(getattr(transformers, index[name][1])(config))
    return (unet, vae, *texts)


@pytest.fixture(scope="module", params=single_file_families())
def family_models(request):
    return request.param, _meta_models(request.param)


def test_parameter_counts_are_the_published_architectures(family_models):
    family, models = family_models
    counts = tuple(sum(p.numel() for p in m.parameters()) for m in models)
    assert counts == PARAMS[family]


def test_components_fit_together(family_models):
    family, (unet, vae, *texts) = family_models
    spec = get_family(family)
    # The UNet reads every text encoder's states side by side.
    cross = unet.mid_block.attentions[0].transformer_blocks[0].attn2.to_k
    widths = [text.config.hidden_size for text in texts]
    assert cross.in_features == sum(widths) == unet.config.cross_attention_dim == spec.text_width
    assert unet.config.in_channels == unet.config.out_channels == vae.config.latent_channels
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    assert vae_scale == 8
    assert unet.config.sample_size * vae_scale == vae.config.sample_size
    assert vae.config.sample_size == max(spec.default_width, spec.default_height)
    assert len(unet.config.down_block_types) == len(unet.config.block_out_channels) == len(unet.config.up_block_types)
    assert vae.config.scaling_factor == pytest.approx(0.13025 if family == "sdxl" else 0.18215)
    # diffusers defaults force_upcast to True, so read what the bundled file itself says.
    vae_json = json.loads((bundled_config_dir(family) / "vae" / "config.json").read_text())
    assert vae_json.get("force_upcast", False) == spec.upcast_vae
    if spec.conditioning == "sdxl":
        # The added conditioning: the second encoder's pooled projection plus six size/crop numbers, 256 each.
        pooled = texts[-1].config.projection_dim
        assert unet.config.addition_embed_type == "text_time"
        assert unet.config.projection_class_embeddings_input_dim == pooled + 6 * unet.config.addition_time_embed_dim


def test_scheduler_and_index_match_the_family(family_models):
    import diffusers

    family, _ = family_models
    spec = get_family(family)
    folder = bundled_config_dir(family)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == spec.pipeline_class
    tokenizers = [name.replace("text_encoder", "tokenizer") for name in spec.text_encoders]
    for name in ("unet", "vae", "scheduler", *spec.text_encoders, *tokenizers):
        assert index[name][0] is not None, name
    assert index.get("safety_checker", [None, None]) == [None, None]
    scheduler_cls = getattr(diffusers, index["scheduler"][1])
    scheduler = scheduler_cls.from_pretrained(str(folder), subfolder="scheduler", local_files_only=True)
    assert scheduler.config.prediction_type == spec.prediction_type
    assert scheduler.config.num_train_timesteps == 1000
    # Every listed component is one the pipeline class takes (a typo would silently drop a part).
    pipeline_class = getattr(diffusers, spec.pipeline_class)
    accepted = set(pipeline_class._get_signature_keys(pipeline_class)[0])
    assert {k for k, v in index.items() if isinstance(v, list) and v[0]} <= accepted


def test_tokenizers_match_the_text_encoders(family_models):
    family, (_, _, *texts) = family_models
    spec = get_family(family)
    for name, text, pad in zip(("tokenizer", "tokenizer_2"), texts, spec.pad_tokens):
        tokenizer = family_tokenizer(family, subfolder=name)
        assert len(tokenizer) == text.config.vocab_size
        assert tokenizer.model_max_length == text.config.max_position_embeddings == 77
        assert tokenizer.pad_token == pad
        assert tokenizer("a cat and a frog").input_ids == [49406, 320, 2368, 537, 320, 11438, 49407]


def test_sdxl_tokenizers_pad_differently_but_share_every_index():
    first, second = family_tokenizer("sdxl"), family_tokenizer("sdxl", subfolder="tokenizer_2")
    a = first("a cat and a frog", padding="max_length", max_length=77).input_ids
    b = second("a cat and a frog", padding="max_length", max_length=77).input_ids
    assert a[:7] == b[:7] and a[7:] == [49407] * 70 and b[7:] == [0] * 70  # "!" is id 0


def test_sd1_config_written_as_a_checkpoint_is_detected_as_sd1():
    # Shapes of a full-size SD 1.x single file made from the bundled config round-trip through detection.
    unet, vae, text = _meta_models("sd1")
    shapes = {k: tuple(v.shape) for part in (unet_to_ldm(unet), vae_to_ldm(vae), clip_to_ldm(text)) for k, v in part.items()}
    family, _, layout, width = family_from_keys(shapes, "model.safetensors")
    assert (family, layout, width) == ("sd1", "clip", 768)

    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    assert infer_diffusers_model_type({k: torch.empty(v, device="meta") for k, v in shapes.items()}) == "v1"
