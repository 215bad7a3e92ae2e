"""Family detection from checkpoint keys: SD 1.x vs 2.x by layout, SD 2.x 512-eps vs 768-v by name/metadata."""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions, load_model
from aae_desktop.engine.models.single_file import FamilyUnknown, family_from_keys, inspect_checkpoint

U = "model.diffusion_model."


def sd_keys(text: str, width: int) -> dict[str, tuple[int, ...]]:
    """The keys (with real shapes where detection looks) of an SD 1.x ('clip') or 2.x ('open_clip') file."""
    shapes = {
        U + "input_blocks.0.0.weight": (320, 4, 3, 3),
        U + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, width),
        U + "output_blocks.11.0.skip_connection.weight": (320, 640, 1, 1),
        "first_stage_model.encoder.conv_in.weight": (128, 3, 3, 3),
        "first_stage_model.decoder.conv_out.weight": (3, 128, 3, 3),
    }
    if text == "clip":
        shapes["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"] = (49408, width)
        shapes["cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight"] = (width, 4 * width)
    else:
        shapes["cond_stage_model.model.token_embedding.weight"] = (49408, width)
        shapes["cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight"] = (3 * width, width)
    return shapes


def test_sd1_from_clip_layout():
    family, reason, layout, width = family_from_keys(sd_keys("clip", 768), "anything.safetensors")
    assert (family, layout, width) == ("sd1", "clip", 768)
    assert "CLIP" in reason


@pytest.mark.parametrize(
    "name, expected",
    [
        ("v2-1_768-ema-pruned.safetensors", "sd2v"),
        ("768-v-ema.ckpt", "sd2v"),
        ("my-model-vpred.safetensors", "sd2v"),
        ("v2-1_512-ema-pruned.safetensors", "sd2"),
        ("512-base-ema.ckpt", "sd2"),
        ("sd21-base.safetensors", "sd2"),
        ("dreamy-mix.safetensors", None),  # undecidable: the user is asked
    ],
)
def test_sd2_prediction_from_name(name, expected):
    family, _, layout, width = family_from_keys(sd_keys("open_clip", 1024), name)
    assert (layout, width) == ("open_clip", 1024)
    assert family == expected


@pytest.mark.parametrize(
    "metadata, expected",
    [
        ({"modelspec.prediction_type": "v"}, "sd2v"),
        ({"modelspec.prediction_type": "epsilon"}, "sd2"),
        ({"modelspec.architecture": "stable-diffusion-v2-768-v"}, "sd2v"),
        ({"ss_v2": "True", "ss_v_parameterization": "True"}, "sd2v"),
        ({"ss_v2": "True", "ss_v_parameterization": "False"}, "sd2"),
    ],
)
def test_sd2_prediction_from_metadata_beats_the_name(metadata, expected):
    # The name says 512 on purpose: metadata is the stronger evidence.
    family, reason, _, _ = family_from_keys(sd_keys("open_clip", 1024), "x-512.safetensors", metadata)
    assert family == expected
    assert reason.startswith("metadata")


def test_sd2_v_pred_marker_key():
    shapes = sd_keys("open_clip", 1024) | {"v_pred": ()}
    assert family_from_keys(shapes, "plain.safetensors")[0] == "sd2v"


def test_sd2_prediction_from_a1111_yaml_sidecar():
    v_yaml = 'model:\n  params:\n    parameterization: "v"\n'
    eps_yaml = "model:\n  params:\n    linear_start: 0.00085\n"
    assert family_from_keys(sd_keys("open_clip", 1024), "m.safetensors", {}, v_yaml)[0] == "sd2v"
    assert family_from_keys(sd_keys("open_clip", 1024), "m-768.safetensors", {}, eps_yaml)[0] == "sd2"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: {"conditioner.embedders.0.model.token_embedding.weight": (49408, 1280)} | s, "SDXL refiner"),
        (lambda s: {"lora_unet_down_blocks_0.alpha": ()}, "LoRA"),
        (lambda s: {"encoder.conv_in.weight": (1,), "decoder.conv_out.weight": (1,)}, "standalone VAE"),
        (lambda s: {"fc.weight": (2, 2)}, "not a Stable Diffusion checkpoint"),
        (lambda s: s | {U + "input_blocks.0.0.weight": (320, 9, 3, 3)}, "inpainting"),
        (lambda s: {k: v for k, v in s.items() if not k.startswith("cond_stage_model")}, "no text encoder"),
        (lambda s: {k: v for k, v in s.items() if not k.startswith("first_stage_model")}, "no VAE"),
        (lambda s: s | {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (49408, 1024)},
         "inconsistent"),
    ],
)
def test_not_supported_files_are_named(change, message):
    with pytest.raises(ModelLoadError, match=message):
        family_from_keys(change(sd_keys("clip", 768)), "f.safetensors")


def test_non_standard_width_only_with_override():
    with pytest.raises(ModelLoadError, match="which no standard Stable Diffusion 1.x, 2.x and SDXL model has"):
        family_from_keys(sd_keys("clip", 512), "f.safetensors")
    assert family_from_keys(sd_keys("clip", 512), "f.safetensors", standard_widths=False)[0] == "sd1"


def _write_shapes(path, shapes, metadata=None):
    from safetensors.torch import save_file

    # Only the trailing width matters to detection, so every tensor is 1 x width (tiny files).
    tensors = {k: torch.zeros((1, shape[-1]) if shape else ()) for k, shape in shapes.items()}
    save_file(tensors, str(path), metadata=metadata)
    return path


def test_inspect_reads_safetensors_header_metadata_and_sidecar(tmp_path):
    plain = _write_shapes(tmp_path / "mix.safetensors", sd_keys("open_clip", 1024))
    assert inspect_checkpoint(plain).family is None
    tagged = _write_shapes(tmp_path / "mix2.safetensors", sd_keys("open_clip", 1024), {"modelspec.prediction_type": "v"})
    info = inspect_checkpoint(tagged)
    assert (info.family, info.text_encoder, info.cross_attention_dim) == ("sd2v", "open_clip", 1024)
    assert info.metadata["modelspec.prediction_type"] == "v"
    (tmp_path / "mix.yaml").write_text("model:\n  params:\n    parameterization: v\n")
    assert inspect_checkpoint(plain).family == "sd2v"


def test_undecided_sd2_asks_for_the_family(tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "cfg" / "settings.json"))
    path = _write_shapes(tmp_path / "mystery.safetensors", sd_keys("open_clip", 1024))
    with pytest.raises(FamilyUnknown) as caught:
        load_model(path, LoadOptions(device="cpu"))
    assert caught.value.path == path
    assert set(caught.value.choices) == {"sd2", "sd2v"}
    assert "512" in str(caught.value) and "768" in str(caught.value)


def test_agrees_with_diffusers_model_type_inference():
    # diffusers' own detector (needs tensors, so use meta tensors) must agree on SD 1 vs SD 2.
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    for text, width, ours, theirs in (("clip", 768, "sd1", "v1"), ("open_clip", 1024, "sd2", "v2")):
        shapes = sd_keys(text, width)
        shapes[U + "input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight"] = (320, width)
        tensors = {k: torch.empty(v, device="meta") for k, v in shapes.items()}
        assert infer_diffusers_model_type(tensors) == theirs
        family = family_from_keys(shapes, "x-512.safetensors")[0]
        assert family == ours


def test_the_answer_remembered_for_a_file_is_used(tmp_path, monkeypatch):
    from aae_desktop.engine.models.model_library import ModelLibrary

    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "cfg" / "settings.json"))
    path = _write_shapes(tmp_path / "mystery.safetensors", sd_keys("open_clip", 1024))
    ModelLibrary().remember_family(path, "sd2v")
    # Past the family question: the (fake, 1-wide) weights then fail to build, with a different message.
    with pytest.raises(ModelLoadError) as caught:
        load_model(path, LoadOptions(device="cpu"))
    assert not isinstance(caught.value, FamilyUnknown)
    assert "Could not load mystery.safetensors" in str(caught.value)
