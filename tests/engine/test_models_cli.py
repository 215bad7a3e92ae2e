"""`aae-desktop models`: cache + recent listing, --inspect, and one-line errors with exit code 2."""
from __future__ import annotations

import json

from aae_desktop.cli import run
from aae_desktop.engine.models.model_library import ModelLibrary
from .test_models_family import _write_shapes, sd_keys
from .test_models_hf_cache import SD1_UNET, SD2_UNET, add_repo, sd_files


def test_models_lists_cache_and_recent(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "hub"
    add_repo(cache, "CompVis/stable-diffusion-v1-4", sd_files(SD1_UNET))
    add_repo(cache, "someone/partial", sd_files(SD2_UNET, weights=("vae",)), commit="b" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "cfg" / "settings.json"))
    ModelLibrary().add_recent("/models/dreamy.safetensors", kind="single file", family="sd1")

    assert run(["models"]) == 0
    out = capsys.readouterr().out
    assert "CompVis/stable-diffusion-v1-4" in out and "SD 1.x" in out
    assert "someone/partial" in out and "INCOMPLETE (missing unet, text_encoder)" in out
    assert "/models/dreamy.safetensors  [single file, SD 1.x]" in out

    assert run(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {m["repo_id"] for m in data["cache"]} == {"CompVis/stable-diffusion-v1-4", "someone/partial"}
    assert data["recent"][0]["source"] == "/models/dreamy.safetensors"


def test_models_empty(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    assert run(["models", "--cache-dir", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert "(no Stable Diffusion models)" in out and "(none yet)" in out


def test_models_inspect(tmp_path, capsys):
    path = _write_shapes(tmp_path / "v2-1_768-ema-pruned.safetensors", sd_keys("open_clip", 1024))
    assert run(["models", "--inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "SD 2.x (768 px, v-prediction)" in out and "file name" in out
    assert run(["models", "--inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["family"] == "sd2v"


def test_models_inspect_bad_file_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"garbage")
    assert run(["models", "--inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aae-desktop: error: x.safetensors is not a readable") and err.count("\n") == 1


def test_render_from_a_single_file_offline(tiny_components, tmp_path, monkeypatch, capsys):
    import socket

    from diffusers import StableDiffusionPipeline
    from PIL import Image

    from .ldm_layout import save_config_folder, save_single_file

    pipe = StableDiffusionPipeline(**tiny_components, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    checkpoint = save_single_file(pipe, tmp_path / "tiny.safetensors")
    config = save_config_folder(pipe, tmp_path / "config")
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address) or 1 / 0)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    out = tmp_path / "out.png"
    code = run(["render", "--model", str(checkpoint), "--model-config", str(config), "--prompt", "a cat and a frog",
                "--tokens", "cat,frog", "--out", str(out), "--steps", "2", "--width", "128", "--height", "128",
                "--seed", "3", "--device", "cpu", "--max-iter-to-alter", "1", "--refinement-cap", "1", "--vae-slicing",
                "--thresholds", "0:0.05"])
    assert code == 0, capsys.readouterr().err
    assert Image.open(out).size == (128, 128)
    assert attempts == []


def test_render_with_a_missing_cache_model_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    code = run(["render", "--model", "nobody/nothing", "--prompt", "a cat", "--tokens", "cat",
                "--out", str(tmp_path / "x.png"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("aae-desktop: error: nobody/nothing is not in the Hugging Face cache") and err.count("\n") == 1


def test_models_inspect_of_a_non_standard_width_suggests_a_command_that_parses(tmp_path, capsys):
    """It suggested `--model-config`, which `models` does not take: the suggestion must be a whole
    command the parser accepts, naming this file and the flag that makes it load."""
    import shlex

    from aae_desktop.cli import build_parser

    path = _write_shapes(tmp_path / "odd width.safetensors", sd_keys("clip", 80))
    assert run(["models", "--inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "odd width.safetensors: SD 1.x" in out and "80 wide" in out
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("aae-desktop ")]
    assert len(commands) == 1, out
    argv = shlex.split(commands[0])[1:]
    args = build_parser().parse_args(argv)  # our parser raises UsageError for anything it does not take
    assert args.command == "render" and args.model == str(path) and args.model_config
    assert run(["models", "--inspect", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["family"] == "sd1" and data["standard_width"] is False and data["suggested_command"] == commands[0]
