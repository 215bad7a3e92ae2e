"""An SDXL model in the Hugging Face cache: listed with its family by `aae-desktop models`, loaded by repo id offline."""
from __future__ import annotations

import socket

from aae_desktop.cli import run
from aae_desktop.engine.models.loading import LoadOptions, load_model
from .test_models_hf_cache import add_repo

REPO = "stabilityai/stable-diffusion-xl-base-1.0"


def test_sdxl_repo_in_the_cache_is_listed_loaded_and_rendered_offline(tiny_sdxl_dir, tmp_path, monkeypatch, capsys):
    from PIL import Image

    cache = tmp_path / "hub"
    files = {str(p.relative_to(tiny_sdxl_dir)): p.read_bytes() for p in tiny_sdxl_dir.rglob("*") if p.is_file()}
    add_repo(cache, REPO, files)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "cfg" / "settings.json"))
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address) or 1 / 0)

    assert run(["models"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if REPO in line]
    assert line.split()[1] == "SDXL" and "INCOMPLETE" not in line

    model = load_model(REPO, LoadOptions(device="cpu", precision="fp32"))
    assert (model.family, model.name, model.info["kind"]) == ("sdxl", REPO, "Hugging Face cache")
    assert type(model.pipe).__name__ == "StableDiffusionXLPipeline"

    out = tmp_path / "x.png"
    code = run(["render", "--model", REPO, "--prompt", "a red cat and a blue frog", "--tokens", "cat,frog",
                "--out", str(out), "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu",
                "--max-iter-to-alter", "1", "--refinement-cap", "1", "--thresholds", "0:0.05"])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as image:
        assert image.size == (64, 64)
    assert attempts == []
