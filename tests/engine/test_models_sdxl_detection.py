"""SDXL single files are recognised from their keys, and every file we cannot run is named in one sentence.

Each case is a tiny synthetic .safetensors file holding the keys (and, where detection reads it,
the shape) that the real kind of file has; the numbers are facts of the published layouts.
"""
from __future__ import annotations

import pytest
import torch

from aae_desktop.cli import run
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions, load_model
from aae_desktop.engine.models.single_file import family_from_keys, inspect_checkpoint
from .sgm_layout import sdxl_meta_shapes

U = "model.diffusion_model."
SUPPORTED = "this app runs complete Stable Diffusion 1.x, 2.x and SDXL text-to-image models."


@pytest.fixture(scope="module")
def sdxl_shapes():
    return sdxl_meta_shapes()


def write_keys(path, shapes, metadata=None):
    """A small file with these keys: every tensor 1 x ... x width, except UNet conv_in, whose input channels matter."""
    from safetensors.torch import save_file

    def small(key, shape):
        if not shape:
            return torch.zeros(())
        if key.endswith("input_blocks.0.0.weight") and len(shape) == 4:
            return torch.zeros((1, shape[1], 1, 1))
        return torch.zeros((1,) * (len(shape) - 1) + (shape[-1],))

    save_file({k: small(k, s) for k, s in shapes.items()}, str(path), metadata=metadata)
    return path


def test_full_size_sdxl_layout_is_sdxl(sdxl_shapes):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    assert sum(k.startswith(U) for k in sdxl_shapes) == 1680  # the UNet keys of sd_xl_base_1.0.safetensors
    family, reason, layout, width = family_from_keys(sdxl_shapes, "juggernautXL_v9.safetensors")
    assert (family, layout, width) == ("sdxl", "sdxl", 2048)
    assert "SDXL" in reason and "bigG" in reason
    # diffusers' own detector agrees (it needs tensors: meta ones cost nothing).
    tensors = {k: torch.empty(v, device="meta") for k, v in sdxl_shapes.items()}
    assert infer_diffusers_model_type(tensors) == "xl_base"


def test_inspect_a_small_file_with_sdxl_keys(sdxl_shapes, tmp_path, capsys):
    path = write_keys(tmp_path / "ponyDiffusionV6XL.safetensors", sdxl_shapes, {"modelspec.architecture": "stable-diffusion-xl-v1-base"})
    info = inspect_checkpoint(path)
    assert (info.family, info.text_encoder, info.cross_attention_dim) == ("sdxl", "sdxl", 2048)
    assert run(["models", "--inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ponyDiffusionV6XL.safetensors: SDXL\n")
    assert "CLIP ViT-L and OpenCLIP ViT-bigG" in out


def _refiner(shapes):
    """SDXL refiner 1.0: OpenCLIP bigG alone as embedders.0, a 384-wide UNet with 1280-wide cross-attention and a
    2560-wide added conditioning (pooled 1280 + 5 x 256: aesthetic score instead of target size)."""
    out = {k: v for k, v in shapes.items() if not k.startswith("conditioner.")}
    out.update({k.replace("embedders.1.", "embedders.0."): v for k, v in shapes.items() if k.startswith("conditioner.embedders.1.")})
    out[U + "input_blocks.0.0.weight"] = (384, 4, 3, 3)
    out[U + "label_emb.0.0.weight"] = (1536, 2560)
    return out


def _with(extra):
    return lambda shapes: shapes | extra


def _only(keys):
    return lambda shapes: keys


REFUSALS = [
    ("sd_xl_refiner_1.0.safetensors", _refiner, "is an SDXL refiner"),
    ("sdxl-inpainting.safetensors", _with({U + "input_blocks.0.0.weight": (320, 9, 3, 3)}), "is an SDXL inpainting model"),
    ("sd3_medium.safetensors", _only({U + "joint_blocks.0.context_block.adaLN_modulation.1.bias": (9216,),
                                      "text_encoders.clip_g.transformer.text_model.final_layer_norm.weight": (1280,)}),
     "is a Stable Diffusion 3 model"),
    ("flux1-dev.safetensors", _only({"double_blocks.0.img_attn.norm.key_norm.scale": (128,),
                                     "single_blocks.37.linear2.weight": (3072, 15360)}), "is a FLUX model"),
    ("flux1-schnell-comfy.safetensors", _only({U + "double_blocks.0.img_mod.lin.weight": (18432, 3072)}), "is a FLUX model"),
    ("svd_xt.safetensors", _with({U + "input_blocks.1.0.time_stack.in_layers.0.weight": (320,),
                                  U + "input_blocks.1.0.time_mixer.mix_factor": (1,)}), "is a video model"),
    ("mm_sdxl_v10_beta.safetensors", _only({"up_blocks.2.motion_modules.0.temporal_transformer.norm.weight": (320,)}),
     "is an AnimateDiff motion module"),
    ("detail-tweaker-xl.safetensors", _only({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (32, 640),
                                             "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha": ()}), "is a LoRA"),
    ("pytorch_lora_weights.safetensors", _only({"unet.down_blocks.1.attentions.0.proj_in.lora_A.weight": (4, 640)}),
     "is a LoRA"),
    ("lycoris-loha.safetensors", _only({"lora_unet_middle_block_1_proj_out.hada_w1_a": (1280, 8)}), "is a LoRA"),
    ("easynegative.safetensors", _only({"emb_params": (8, 768)}), "is a textual-inversion embedding"),
    ("negativeXL_D.safetensors", _only({"clip_l": (8, 768), "clip_g": (8, 1280)}), "is a textual-inversion embedding"),
    ("learned_embeds.safetensors", _only({"<cat-toy>": (1, 768)}), "is a textual-inversion embedding"),
    ("sdxl_vae.safetensors", _only({"encoder.conv_in.weight": (128, 3, 3, 3), "decoder.conv_out.weight": (3, 128, 3, 3),
                                    "decoder.up_blocks.0.resnets.0.conv1.weight": (512, 512, 3, 3)}), "is a standalone VAE"),
    ("vae-ft-mse-840000.safetensors", _only({"first_stage_model.encoder.conv_in.weight": (128, 3, 3, 3),
                                             "first_stage_model.decoder.conv_out.weight": (3, 128, 3, 3)}),
     "is a standalone VAE"),
    ("control_v11p_sd15_canny.safetensors", _only({"control_model.input_hint_block.0.weight": (16, 3, 3, 3),
                                                   U + "input_blocks.0.0.weight": (320, 4, 3, 3)}), "is a ControlNet"),
    ("controlnet-canny-sdxl.safetensors", _only({"controlnet_cond_embedding.conv_in.weight": (16, 3, 3, 3),
                                                 "add_embedding.linear_1.weight": (1280, 2816)}), "is a ControlNet"),
    ("playground-v2.5.safetensors", _with({"edm_mean": (1, 4, 1, 1), "edm_std": (1, 4, 1, 1)}), "is a Playground v2.5 model"),
    ("diffusion_pytorch_model.safetensors", _only({"conv_in.weight": (320, 4, 3, 3),
                                                   "down_blocks.0.resnets.0.conv1.weight": (320, 320, 3, 3)}),
     "is the UNet of a diffusers model folder on its own"),
]


@pytest.mark.parametrize("name, make, kind", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_files_we_cannot_run_get_one_sentence(name, make, kind, sdxl_shapes, tmp_path, capsys):
    path = write_keys(tmp_path / name, make(sdxl_shapes))
    with pytest.raises(ModelLoadError) as caught:
        load_model(path, LoadOptions(device="cpu"))
    message = str(caught.value)
    assert message.startswith(f"{name} {kind}") and message.endswith(SUPPORTED), message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence, no traceback text
    # The CLI: one line on stderr and exit code 2, for `models --inspect` and for `render`.
    assert run(["models", "--inspect", str(path)]) == 2
    assert capsys.readouterr().err == f"aae-desktop: error: {message}\n"
    code = run(["render", "--model", str(path), "--prompt", "a cat", "--tokens", "cat",
                "--out", str(tmp_path / "x.png"), "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err == f"aae-desktop: error: {message}\n"


def test_sdxl_v_prediction_is_named(sdxl_shapes, tmp_path):
    path = write_keys(tmp_path / "noobaiXLVpred.safetensors", sdxl_shapes | {"v_pred": ()})
    with pytest.raises(ModelLoadError, match=r"is an SDXL v-prediction model \(the checkpoint carries a v_pred marker\); "
                                             r"this app runs SDXL models of the noise-predicting \(epsilon\) kind only\."):
        inspect_checkpoint(path)


def test_sdxl_missing_its_second_text_encoder(sdxl_shapes, tmp_path):
    shapes = {k: v for k, v in sdxl_shapes.items() if not k.startswith("conditioner.embedders.1.")}
    with pytest.raises(ModelLoadError, match="has only some of its 2 text encoders"):
        inspect_checkpoint(write_keys(tmp_path / "pruned.safetensors", shapes))


def test_sdxl_with_a_mismatched_text_width(sdxl_shapes, tmp_path):
    shapes = sdxl_shapes | {"conditioner.embedders.1.model.token_embedding.weight": (49408, 1024)}
    with pytest.raises(ModelLoadError, match="inconsistent: its text encoder is 1792 wide but the UNet expects 2048"):
        inspect_checkpoint(write_keys(tmp_path / "broken-merge.safetensors", shapes))


def test_sd1_file_is_not_sdxl_when_the_family_is_forced(tmp_path):
    from .test_models_family import sd_keys

    path = write_keys(tmp_path / "dreamshaper_8.safetensors", sd_keys("clip", 768))
    with pytest.raises(ModelLoadError, match="dreamshaper_8.safetensors is an SD 1.x model, not SDXL"):
        load_model(path, LoadOptions(device="cpu", family="sdxl"))
