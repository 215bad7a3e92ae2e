"""Single-file checkpoints: a tiny SD 1.x in the original key layout loads offline with an empty HF cache."""
from __future__ import annotations

import pickle

import pytest
import torch

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions, load_model
from .helpers import same_weights
from .ldm_layout import pipeline_to_ldm, save_config_folder, save_single_file

CPU = dict(device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def tiny_pipe(tiny_components):
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        **tiny_components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )


@pytest.fixture(scope="module")
def single_files(tiny_pipe, tmp_path_factory):
    folder = tmp_path_factory.mktemp("single")
    return {
        "safetensors": save_single_file(tiny_pipe, folder / "tiny-sd1.safetensors"),
        "ckpt": save_single_file(tiny_pipe, folder / "tiny-sd1.ckpt", fmt="ckpt"),
        "config": save_config_folder(tiny_pipe, folder / "tiny-config"),
    }





def test_test_helper_layout_matches_diffusers_own_converter(tiny_pipe):
    # The LDM writer used by these tests must be the exact inverse of diffusers' LDM -> diffusers conversion.
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    ldm = pipeline_to_ldm(tiny_pipe)
    unet = convert_ldm_unet_checkpoint(ldm, dict(tiny_pipe.unet.config))
    vae = convert_ldm_vae_checkpoint(ldm, dict(tiny_pipe.vae.config))
    for converted, module in ((unet, tiny_pipe.unet), (vae, tiny_pipe.vae)):
        original = module.state_dict()
        assert converted.keys() == original.keys()
        assert all(torch.equal(converted[k], original[k]) for k in original)


@pytest.mark.parametrize("fmt", ["safetensors", "ckpt"])
def test_single_file_loads_offline_with_empty_cache(fmt, single_files, tiny_pipe, no_network):
    model = load_model(single_files[fmt], LoadOptions(**CPU, config_dir=str(single_files["config"])))
    assert no_network == []
    assert model.family == "sd1"
    assert model.name == "tiny-sd1"
    assert model.info["kind"] == "single file"
    assert model.info["file_size"] == single_files[fmt].stat().st_size
    for name in ("unet", "vae", "text_encoder"):
        assert same_weights(getattr(model.pipe, name), getattr(tiny_pipe, name)), name
    # The tokenizer comes from the bundled/override files, not the network.
    assert model.pipe.tokenizer("a cat").input_ids == [49406, 320, 2368, 49407]


def test_tiny_shapes_need_the_config_override(single_files):
    with pytest.raises(ModelLoadError, match="text encoding is 32 wide"):
        load_model(single_files["safetensors"], LoadOptions(**CPU))


def test_family_choice_must_match_the_file(single_files):
    options = LoadOptions(**CPU, family="sd2v", config_dir=str(single_files["config"]))
    with pytest.raises(ModelLoadError, match="SD 1.x model, not SD 2.x"):
        load_model(single_files["safetensors"], options)
    with pytest.raises(ModelLoadError, match="SD 1.x model, not SDXL"):
        load_model(single_files["safetensors"], LoadOptions(**CPU, family="sdxl", config_dir=str(single_files["config"])))
    with pytest.raises(ModelLoadError, match="Unknown model family"):
        load_model(single_files["safetensors"], LoadOptions(**CPU, family="sd9", config_dir=str(single_files["config"])))


def test_corrupt_safetensors_is_a_clear_error(single_files, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(single_files["safetensors"].read_bytes()[:5000])  # an interrupted download
    with pytest.raises(ModelLoadError, match="not a readable .safetensors"):
        load_model(broken, LoadOptions(**CPU))


def test_ckpt_with_code_is_refused(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (print, ("this would run at load time",))

    path = tmp_path / "sneaky.ckpt"
    with open(path, "wb") as handle:
        pickle.dump({"state_dict": {"x": Sneaky()}}, handle, protocol=2)
    with pytest.raises(ModelLoadError, match="more than plain weights"):
        load_model(path, LoadOptions(**CPU))


def test_not_a_stable_diffusion_file(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "classifier.safetensors"
    save_file({"fc.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ModelLoadError, match="not a Stable Diffusion checkpoint"):
        load_model(path, LoadOptions(**CPU))


def test_checkpoint_without_vae_is_refused(tiny_pipe, tmp_path):
    from safetensors.torch import save_file

    state = {k: v for k, v in pipeline_to_ldm(tiny_pipe).items() if not k.startswith("first_stage_model.")}
    path = tmp_path / "no-vae.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match="no VAE weights"):
        load_model(path, LoadOptions(**CPU))


def test_checkpoint_missing_some_unet_weights_is_refused(tiny_pipe, single_files, tmp_path):
    from safetensors.torch import save_file

    state = pipeline_to_ldm(tiny_pipe)
    state.pop("model.diffusion_model.out.2.weight")
    path = tmp_path / "incomplete.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match="incomplete|missing"):
        load_model(path, LoadOptions(**CPU, config_dir=str(single_files["config"])))


@pytest.mark.parametrize(
    "name, message",
    [("missing.safetensors", "not found"), ("notes.txt", "is not a model"), ("", "No model"),
     ("nobody/nothing-here", "not in the Hugging Face cache")],
)
def test_bad_sources_get_one_clear_message(name, message, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    if name == "notes.txt":
        (tmp_path / name).write_text("hello")
    source = name if "/" in name or not name else str(tmp_path / name)
    with pytest.raises(ModelLoadError, match=message):
        load_model(source, LoadOptions(**CPU))


def test_folder_and_model_index_path_both_load(tiny_model_dir, no_network):
    by_folder = load_model(tiny_model_dir, LoadOptions(**CPU))
    by_index = load_model(tiny_model_dir / "model_index.json", LoadOptions(**CPU))
    assert by_folder.family == by_index.family == "sd1"
    assert by_folder.info["kind"] == "diffusers folder"
    assert same_weights(by_folder.pipe.unet, by_index.pipe.unet)
    assert no_network == []


def test_folder_with_only_fp16_weight_files_loads(tiny_pipe, tmp_path):
    # Cache snapshots fetched with variant="fp16" hold only *.fp16.safetensors files.
    folder = tmp_path / "fp16-only"
    tiny_pipe.save_pretrained(str(folder), safe_serialization=True, variant="fp16")
    assert not (folder / "unet" / "diffusion_pytorch_model.safetensors").exists()
    model = load_model(folder, LoadOptions(**CPU))
    assert same_weights(model.pipe.unet, tiny_pipe.unet)
