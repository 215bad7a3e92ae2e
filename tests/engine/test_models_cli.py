"""`aae-desktop models`: cache + recent listing, --inspect, and one-line errors with exit code 2."""
from __future__ import annotations

import json

from aae_desktop.cli import run
from aae_desktop.engine.model_library import ModelLibrary
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
