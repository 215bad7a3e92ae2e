"""Diffusers folders and cached repos we cannot run are named in one sentence; SDXL repos in the cache are listed."""
from __future__ import annotations

import json

import pytest

from aae_desktop.cli import run
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions, load_model
from .test_models_hf_cache import add_repo, sd_files

SUPPORTED = "this app runs complete Stable Diffusion 1.x, 2.x and SDXL text-to-image models."
SDXL_UNET = {"cross_attention_dim": 2048, "addition_embed_type": "text_time", "in_channels": 4}


def pipeline_files(class_name: str, unet: dict | None = None, **index) -> dict[str, bytes]:
    files = sd_files(unet or SDXL_UNET, weights=("unet", "vae", "text_encoder", "text_encoder_2"))
    files["model_index.json"] = json.dumps({"_class_name": class_name, **index}).encode()
    return files


def write_folder(root, files):
    root.mkdir(parents=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


FOLDERS = [
    ("stable-diffusion-xl-refiner-1.0", pipeline_files("StableDiffusionXLImg2ImgPipeline", requires_aesthetics_score=True),
     "is an SDXL refiner"),
    # A refiner saved under the base pipeline's class still says what it is in its index.
    ("my-refiner", pipeline_files("StableDiffusionXLPipeline", requires_aesthetics_score=True), "is an SDXL refiner"),
    ("sdxl-inpainting-0.1", pipeline_files("StableDiffusionXLInpaintPipeline"), "is an SDXL inpainting model (StableDiffusionXLInpaintPipeline)"),
    ("sd-inpainting", pipeline_files("StableDiffusionPipeline", {"cross_attention_dim": 768, "in_channels": 9}),
     "is an inpainting model"),
    ("stable-diffusion-3-medium-diffusers", pipeline_files("StableDiffusion3Pipeline"), "is a Stable Diffusion 3 model"),
    ("FLUX.1-dev", pipeline_files("FluxPipeline"), "is a FLUX model"),
    ("stable-video-diffusion-img2vid-xt", pipeline_files("StableVideoDiffusionPipeline"), "is a Stable Video Diffusion video model"),
    ("animatediff-motion", pipeline_files("AnimateDiffPipeline"), "is an AnimateDiff video model"),
    ("controlnet-canny-sdxl-1.0", {"config.json": b'{"_class_name": "ControlNetModel"}'},
     "is a single model component (ControlNetModel), not a whole model folder"),
    ("kandinsky", pipeline_files("KandinskyV22Pipeline"), "is a model of another architecture (KandinskyV22Pipeline)"),
    ("some-community-pipeline", pipeline_files("MyMagicPipeline"), "is a MyMagicPipeline pipeline"),
]


@pytest.mark.parametrize("name, files, kind", FOLDERS, ids=[f[0] for f in FOLDERS])
def test_folders_we_cannot_run_get_one_sentence(name, files, kind, tmp_path, capsys):
    folder = write_folder(tmp_path / name, files)
    with pytest.raises(ModelLoadError) as caught:
        load_model(folder, LoadOptions(device="cpu"))
    message = str(caught.value)
    assert message.startswith(f"{name} {kind}") and message.endswith(SUPPORTED), message
    code = run(["render", "--model", str(folder), "--prompt", "a cat", "--tokens", "cat",
                "--out", str(tmp_path / "x.png"), "--device", "cpu"])
    assert code == 2
    assert capsys.readouterr().err == f"aae-desktop: error: {message}\n"


def test_an_sdxl_base_saved_under_another_class_is_not_refused(tmp_path):
    from aae_desktop.engine.models.unsupported import folder_refusal

    components = {"text_encoder": ["transformers", "CLIPTextModel"],
                  "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]}
    base = write_folder(tmp_path / "base-as-img2img", pipeline_files("StableDiffusionXLImg2ImgPipeline", **components))
    assert folder_refusal(base) is None
    refiner = write_folder(tmp_path / "refiner", pipeline_files(
        "StableDiffusionXLImg2ImgPipeline", text_encoder_2=components["text_encoder_2"]))
    assert folder_refusal(refiner).startswith("refiner is an SDXL refiner")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "cfg" / "settings.json"))
    return cache


def test_models_lists_sdxl_and_names_what_it_cannot_run(cache, capsys):
    add_repo(cache, "stabilityai/stable-diffusion-xl-base-1.0", pipeline_files("StableDiffusionXLPipeline"), commit="1" * 40)
    add_repo(cache, "stabilityai/stable-diffusion-xl-refiner-1.0",
             pipeline_files("StableDiffusionXLImg2ImgPipeline", requires_aesthetics_score=True), commit="2" * 40)
    add_repo(cache, "black-forest-labs/FLUX.1-schnell", pipeline_files("FluxPipeline"), commit="3" * 40)
    add_repo(cache, "openai/clip-vit-large-patch14", {"config.json": b"{}"}, commit="4" * 40)  # not a pipeline: silent

    assert run(["models"]) == 0
    out = capsys.readouterr().out
    [base] = [line for line in out.splitlines() if "stable-diffusion-xl-base-1.0" in line]
    assert " SDXL " in base and "INCOMPLETE" not in base
    assert ("    stabilityai/stable-diffusion-xl-refiner-1.0 is an SDXL refiner, which only polishes images SDXL base "
            "made and cannot start from a prompt (StableDiffusionXLImg2ImgPipeline); " + SUPPORTED) in out
    assert "    black-forest-labs/FLUX.1-schnell is a FLUX model" in out
    assert "clip-vit-large-patch14" not in out

    assert run(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(m["repo_id"], m["family"], m["complete"]) for m in data["cache"]] == [
        ("stabilityai/stable-diffusion-xl-base-1.0", "sdxl", True)]
    assert {m["repo_id"] for m in data["not_supported"]} == {
        "stabilityai/stable-diffusion-xl-refiner-1.0", "black-forest-labs/FLUX.1-schnell"}


def test_a_cached_refiner_by_repo_id_is_refused_not_missing(cache, capsys, tmp_path):
    add_repo(cache, "stabilityai/stable-diffusion-xl-refiner-1.0",
             pipeline_files("StableDiffusionXLImg2ImgPipeline", requires_aesthetics_score=True))
    code = run(["render", "--model", "stabilityai/stable-diffusion-xl-refiner-1.0", "--prompt", "a cat", "--tokens",
                "cat", "--out", str(tmp_path / "x.png"), "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("aae-desktop: error: stabilityai/stable-diffusion-xl-refiner-1.0 is an SDXL refiner")
    assert err.count("\n") == 1
