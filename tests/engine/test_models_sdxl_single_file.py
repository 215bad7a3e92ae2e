"""A tiny SDXL written in the layout of SDXL files on model sites loads offline with an empty HF cache and renders."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aae_desktop.cli import run
from aae_desktop.engine.models.loading import LoadOptions, load_model
from .helpers import same_weights
from .ldm_layout import save_config_folder
from .sgm_layout import CLIP_L, OPEN_CLIP_G, TINY_SDXL_WIDTHS, save_sdxl_single_file, sdxl_pipeline_to_sgm

CPU = dict(device="cpu", precision="fp32")
QUICK = ["--steps", "2", "--width", "64", "--height", "64", "--seed", "5", "--device", "cpu", "--precision", "fp32",
         "--max-iter-to-alter", "1", "--refinement-cap", "1", "--thresholds", "0:0.05"]


@pytest.fixture(scope="module")
def sdxl_pipe():
    from aae_desktop.engine.models.tiny_model import tiny_sdxl_pipeline

    return tiny_sdxl_pipeline(seed=0, **TINY_SDXL_WIDTHS)


@pytest.fixture(scope="module")
def sdxl_file(sdxl_pipe, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdxl-single")
    return (save_sdxl_single_file(sdxl_pipe, folder / "tiny-sdxl.safetensors"),
            save_config_folder(sdxl_pipe, folder / "tiny-sdxl-config"))





def test_sgm_writer_is_the_inverse_of_diffusers_converters(sdxl_pipe):
    # The test helper must be exactly what diffusers' SGM -> diffusers conversion undoes.
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        convert_open_clip_checkpoint,
    )

    sgm = sdxl_pipeline_to_sgm(sdxl_pipe)
    assert {k.split(".")[0] for k in sgm} == {"model", "first_stage_model", "conditioner"}
    converted = {
        "unet": convert_ldm_unet_checkpoint(sgm, dict(sdxl_pipe.unet.config)),
        "vae": convert_ldm_vae_checkpoint(sgm, dict(sdxl_pipe.vae.config)),
        "text_encoder": convert_ldm_clip_checkpoint({k: v for k, v in sgm.items() if k.startswith(CLIP_L)}),
        "text_encoder_2": convert_open_clip_checkpoint(sdxl_pipe.text_encoder_2, sgm, prefix=OPEN_CLIP_G),
    }
    def plain(state):  # transformers >= 5.6 flattened CLIPTextModel (no "text_model." level)
        return {k.removeprefix("text_model."): v for k, v in state.items() if not k.endswith("position_ids")}

    for name, state in converted.items():
        original = plain(getattr(sdxl_pipe, name).state_dict())
        state = plain(state)
        assert state.keys() == original.keys(), name
        assert all(torch.equal(state[k], original[k]) for k in original), name


def test_sdxl_single_file_loads_offline_and_renders_what_the_pipeline_renders(sdxl_file, sdxl_pipe, no_network):
    from aae_desktop.engine.run.generate import generate
    from aae_desktop.engine.models.loading import wrap_pipeline
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    path, config = sdxl_file
    model = load_model(path, LoadOptions(**CPU, config_dir=str(config)))
    assert no_network == []
    assert (model.family, model.name, model.info["kind"]) == ("sdxl", "tiny-sdxl", "single file")
    assert type(model.pipe).__name__ == "StableDiffusionXLPipeline"
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        assert same_weights(getattr(model.pipe, name), getattr(sdxl_pipe, name)), name
    # Both tokenizers come from the shared bundled vocabulary; the second pads with "!" (id 0).
    assert model.pipe.tokenizer.pad_token == "<|endoftext|>" and model.pipe.tokenizer_2.pad_token == "!"
    assert model.pipe.tokenizer_2("a cat").input_ids == model.pipe.tokenizer("a cat").input_ids

    request = GenerationRequest(model=str(path), prompt="a red cat and a blue frog", seed=3, steps=2, width=64,
                                height=64, excite=ExciteSettings(token_indices=(3, 7), max_iter_to_alter=1,
                                                                 thresholds=((0, 0.05),), max_refinement_steps=1))
    from_file = generate(model, request).images[0].image
    from_memory = generate(wrap_pipeline(sdxl_pipe, "in-memory", LoadOptions(**CPU)), request).images[0].image
    assert from_file.size == (64, 64)
    # The weights are bit-equal (above); the tensors diffusers' converter builds are laid out differently in
    # memory (split q/k/v, re-transposed projections), which may move a rounding by one 8-bit step: the same
    # 1/255 bound the parity tests use.
    a = np.asarray(from_file, dtype=int)
    b = np.asarray(from_memory, dtype=int)
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 0.01


def test_cli_renders_an_sdxl_single_file_offline(sdxl_file, no_network, tmp_path, capsys):
    from PIL import Image

    path, config = sdxl_file
    out = tmp_path / "x.png"
    code = run(["render", "--model", str(path), "--model-config", str(config), "--prompt", "a red cat and a blue frog",
                "--tokens", "cat,frog", "--out", str(out), *QUICK])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert no_network == []
    with Image.open(out) as image:
        assert image.size == (64, 64)
        assert json.loads(image.text["aae"])["model"] == str(path)
    # Without the config folder its tiny widths are named, in one line (`models --inspect` describes the
    # file instead, with a render command that takes the config folder: test_models_cli.py).
    assert run(["render", "--model", str(path), "--prompt", "a cat", "--tokens", "cat", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "aae-desktop: error: tiny-sdxl.safetensors's text encoding is 80 wide, which no standard Stable Diffusion "
        "1.x, 2.x and SDXL model has (SD 1.x 768, SD 2.x 1024, SDXL 2048); load it with a config folder that fits it "
        "(--model-config).\n")
