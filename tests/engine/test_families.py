"""The family descriptions: detection from configs, and the engine reading them instead of family names."""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.run.attention import default_loss_grid
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import FAMILIES, family_from_configs, family_label, get_family
from aae_desktop.engine.models.loading import LoadedModel
from aae_desktop.engine.run.preview import latent_to_rgb


@pytest.mark.parametrize(
    "pipeline_class, unet, scheduler, expected",
    [
        ("StableDiffusionPipeline", {"cross_attention_dim": 768}, {}, "sd1"),
        ("StableDiffusionPipeline", {"cross_attention_dim": 1024}, {"prediction_type": "epsilon"}, "sd2"),
        ("StableDiffusionPipeline", {"cross_attention_dim": 1024}, {"prediction_type": "v_prediction"}, "sd2v"),
        ("StableDiffusionXLPipeline", {"cross_attention_dim": 2048}, {}, "sdxl"),
        # A folder saved under another class name still shows SDXL in its UNet's added conditioning.
        ("DiffusionPipeline", {"cross_attention_dim": 2048, "addition_embed_type": "text_time"}, {}, "sdxl"),
    ],
)
def test_family_from_configs(pipeline_class, unet, scheduler, expected):
    assert family_from_configs(pipeline_class, unet, scheduler) == expected


def test_sdxl_defaults_are_sdxl_sized():
    sdxl = get_family("sdxl")
    assert (sdxl.default_width, sdxl.default_height, sdxl.default_guidance) == (1024, 1024, 5.0)
    assert sdxl.preset_sizes() == [(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216),
                                   (1344, 768), (768, 1344), (512, 512)]
    assert sdxl.text_encoders == ("text_encoder", "text_encoder_2")
    assert (get_family("sd1").default_width, get_family("sd2v").default_width) == (512, 768)
    for family in FAMILIES.values():
        assert all(w % 8 == 0 and h % 8 == 0 for w, h in family.preset_sizes())
        assert len(family.pad_tokens) == len(family.text_encoders)


def test_unknown_family_is_a_clear_error_and_labels_pass_through():
    with pytest.raises(ModelLoadError, match="Unknown model family 'sd9'"):
        LoadedModel(pipe=None, source="x", name="x", family="sd9")
    assert family_label("sdxl") == "SDXL"
    assert family_label("from-a-newer-version") == "from-a-newer-version"


def test_loss_level_index_or_lowest_level_with_attention(tiny_model):
    unet = tiny_model.pipe.unet  # 4 levels; the mid block attends at the lowest one
    assert default_loss_grid(unet, 16, 24, level=2) == (4, 6)
    assert default_loss_grid(unet, 16, 24, level=None) == (2, 3)
    assert default_loss_grid(unet, 16, 24, level=get_family("sd1").loss_level) == (4, 6)


def test_preview_colours_follow_the_family():
    latent = torch.zeros(1, 4, 2, 2)
    latent[:, 0] = 1.0
    sd = latent_to_rgb(latent, get_family("sd1")).getpixel((0, 0))
    xl = latent_to_rgb(latent, get_family("sdxl")).getpixel((0, 0))
    # rgb = (latent . factors + bias + 1) * 127.5, truncated to 8 bits
    assert sd == tuple(int((f + 1) * 127.5) for f in FAMILIES["sd1"].latent_rgb_factors[0])
    assert xl == tuple(int((f + b + 1) * 127.5) for f, b in zip(FAMILIES["sdxl"].latent_rgb_factors[0],
                                                                FAMILIES["sdxl"].latent_rgb_bias))
    assert latent_to_rgb(latent).getpixel((0, 0)) == sd  # no family: SD 1.x


def test_every_family_offers_a_small_draft_preset():
    # #20 §6: SD 1.x had a 256 px draft size, SDXL none. A draft covers at most half the default area.
    for key, family in FAMILIES.items():
        default_area = family.default_width * family.default_height
        drafts = [p for p in family.size_presets if "draft" in p.label.lower()]
        assert drafts, f"{key} has no draft preset"
        assert all(2 * p.width * p.height <= default_area for p in drafts), key
