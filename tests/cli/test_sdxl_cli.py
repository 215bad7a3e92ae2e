"""SDXL diffusers folders from the command line: loading, family defaults, metadata, refusals of what we can't run."""
from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from aae_desktop.cli import run
from aae_desktop.engine.models.loading import LoadOptions, load_model
from aae_desktop.engine.request import GenerationRequest

QUICK = ["--steps", "2", "--max-iter-to-alter", "1", "--thresholds", "0:0.05", "--refinement-cap", "1",
         "--device", "cpu"]


def test_sdxl_folder_loads_as_sdxl_with_both_text_encoders(tiny_sdxl_dir):
    model = load_model(str(tiny_sdxl_dir), LoadOptions(device="cpu"))
    assert model.family == "sdxl" and model.family_spec.label == "SDXL"
    assert type(model.pipe).__name__ == "StableDiffusionXLPipeline"
    assert model.pipe.tokenizer_2.pad_token == "!"
    assert not any(p.requires_grad for p in model.pipe.text_encoder_2.parameters())


def test_render_uses_sdxl_defaults_and_says_so_in_the_png(tiny_sdxl_dir, tmp_path, capsys, monkeypatch):
    # 1024 px is the SDXL default; the tiny model would take a while there, so the test checks the
    # request that would run (built from the folder's family) and renders a small image for real.
    from aae_desktop.engine.run import generate as engine

    seen, real_generate = [], engine.generate

    def small(model, request, **kwargs):
        seen.append(request)
        return real_generate(model, request.replace(width=64, height=64), **kwargs)

    monkeypatch.setattr(engine, "generate", small)
    out = tmp_path / "x.png"
    code = run(["render", "--model", str(tiny_sdxl_dir), "--prompt", "a red cat and a blue frog",
                "--tokens", "cat,frog", "--out", str(out), "--seed", "4", *QUICK])
    assert code == 0, capsys.readouterr().err
    assert (seen[0].width, seen[0].height, seen[0].guidance_scale) == (1024, 1024, 5.0)
    assert seen[0].excite.token_indices == (3, 7)
    with Image.open(out) as img:
        aae = json.loads(img.text["aae"])
        parameters = img.text["parameters"]
    assert aae["model_family"] == "sdxl" and aae["model_name"] == "tiny-sdxl"
    assert GenerationRequest.from_dict(aae).guidance_scale == 5.0
    assert "CFG scale: 5," in parameters and "Model: tiny-sdxl" in parameters


def test_given_size_and_guidance_win_over_the_family_defaults(tiny_sdxl_dir, tmp_path):
    out = tmp_path / "small.png"
    code = run(["render", "--model", str(tiny_sdxl_dir), "--prompt", "a red cat and a blue frog",
                "--tokens", "cat", "--out", str(out), "--width", "96", "--height", "64", "--guidance", "3",
                *QUICK])
    assert code == 0
    with Image.open(out) as img:
        request = GenerationRequest.from_dict(json.loads(img.text["aae"]))
        assert img.size == (96, 64)
    assert request.guidance_scale == 3.0


def test_tokens_lists_an_sdxl_prompt(tiny_sdxl_dir, capsys):
    assert run(["tokens", "--model", str(tiny_sdxl_dir), "--prompt", "a red cat and a blue frog"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split() == ["3", "cat", "cat"] and lines[7].split() == ["7", "frog", "frog"]


@pytest.mark.parametrize(
    "class_name, extra, says",
    [
        ("StableDiffusionXLImg2ImgPipeline", {"text_encoder": [None, None]}, "an SDXL refiner"),
        ("StableDiffusion3Pipeline", {}, "a Stable Diffusion 3 model"),
        ("FluxPipeline", {}, "a FLUX model"),
        ("StableVideoDiffusionPipeline", {}, "a Stable Video Diffusion video model"),
        ("StableDiffusionXLInpaintPipeline", {}, "an SDXL inpainting model"),
    ],
)
def test_folders_we_cannot_run_get_one_sentence_and_exit_2(tiny_sdxl_dir, tmp_path, capsys, class_name, extra, says):
    folder = tmp_path / "model"
    shutil.copytree(tiny_sdxl_dir, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index.update({"_class_name": class_name, **extra})
    (folder / "model_index.json").write_text(json.dumps(index))
    code = run(["render", "--model", str(folder), "--prompt", "a cat", "--tokens", "cat",
                "--out", str(tmp_path / "x.png"), "--width", "64", "--height", "64"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"model is {says}" in err and class_name in err
    assert "Stable Diffusion 1.x, 2.x and SDXL" in err
    assert not (tmp_path / "x.png").exists()
