"""Hugging Face cache discovery on a fake cache tree (the real on-disk layout), and loading by repo id offline."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.hf_cache import list_cached_models, looks_like_repo_id, resolve_cached_repo
from aae_desktop.engine.models.loading import LoadOptions, load_model

SD1_UNET = {"cross_attention_dim": 768}
SD2_UNET = {"cross_attention_dim": 1024}


def add_repo(cache: Path, repo_id: str, files: dict[str, bytes], commit: str = "a" * 40, ref: str | None = "main",
             repo_type: str = "models") -> Path:
    """Write one repo the way huggingface_hub does: blobs by hash, snapshot symlinks, refs/<name>."""
    repo = cache / f"{repo_type}--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for rel, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        target = snapshot / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, target.parent), target)
    if ref:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    return snapshot


def sd_files(unet_config: dict, scheduler: dict | None = None, weights=("unet", "vae", "text_encoder")) -> dict[str, bytes]:
    files = {
        "model_index.json": json.dumps({"_class_name": "StableDiffusionPipeline"}).encode(),
        "unet/config.json": json.dumps(unet_config).encode(),
        "scheduler/scheduler_config.json": json.dumps(scheduler or {"prediction_type": "epsilon"}).encode(),
    }
    for component in weights:
        files[f"{component}/model.safetensors"] = f"weights of {component} {unet_config}".encode()
    return files


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_discovery_lists_sd_pipelines_only(fake_cache):
    add_repo(fake_cache, "CompVis/stable-diffusion-v1-4", sd_files(SD1_UNET))
    add_repo(fake_cache, "stabilityai/stable-diffusion-2-1", sd_files(SD2_UNET, {"prediction_type": "v_prediction"}),
             commit="b" * 40)
    add_repo(fake_cache, "stabilityai/stable-diffusion-2-1-base", sd_files(SD2_UNET), commit="c" * 40)
    add_repo(fake_cache, "someone/half-downloaded", sd_files(SD1_UNET, weights=("vae",)), commit="d" * 40)
    add_repo(fake_cache, "bert-base-uncased", {"config.json": b"{}"})  # not a pipeline
    add_repo(fake_cache, "acme/sd3", {"model_index.json": b'{"_class_name": "StableDiffusion3Pipeline"}'})
    sdxl = sd_files({"cross_attention_dim": 2048, "addition_embed_type": "text_time"})
    sdxl["model_index.json"] = b'{"_class_name": "StableDiffusionXLPipeline"}'
    add_repo(fake_cache, "acme/sdxl-half", sdxl, commit="e" * 40)  # no text_encoder_2 weights yet
    add_repo(fake_cache, "acme/prompts", {"model_index.json": b'{"_class_name": "StableDiffusionPipeline"}'},
             repo_type="datasets")

    found = {m.repo_id: m for m in list_cached_models()}
    assert set(found) == {
        "CompVis/stable-diffusion-v1-4", "stabilityai/stable-diffusion-2-1",
        "stabilityai/stable-diffusion-2-1-base", "someone/half-downloaded", "acme/sdxl-half",
    }
    assert found["acme/sdxl-half"].family == "sdxl"
    assert found["acme/sdxl-half"].missing == ("text_encoder_2",)
    assert found["CompVis/stable-diffusion-v1-4"].family == "sd1"
    assert found["stabilityai/stable-diffusion-2-1"].family == "sd2v"
    assert found["stabilityai/stable-diffusion-2-1-base"].family == "sd2"
    assert found["someone/half-downloaded"].missing == ("unet", "text_encoder")
    assert found["CompVis/stable-diffusion-v1-4"].complete
    assert found["CompVis/stable-diffusion-v1-4"].size_on_disk > 0
    assert found["CompVis/stable-diffusion-v1-4"].snapshot.name == "a" * 40


def test_main_ref_wins_over_a_newer_detached_snapshot(fake_cache):
    add_repo(fake_cache, "owner/model", sd_files(SD1_UNET), commit="1" * 40, ref="main")
    newer = add_repo(fake_cache, "owner/model", sd_files(SD2_UNET), commit="2" * 40, ref=None)
    os.utime(newer / "model_index.json", follow_symlinks=False)
    [model] = list_cached_models()
    assert model.commit == "1" * 40
    assert model.family == "sd1"


def test_missing_or_empty_cache_lists_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "does-not-exist"))
    assert list_cached_models() == []


def test_resolve_says_what_is_wrong(fake_cache):
    add_repo(fake_cache, "someone/half-downloaded", sd_files(SD1_UNET, weights=("vae",)))
    with pytest.raises(ModelLoadError, match="only partly"):
        resolve_cached_repo("someone/half-downloaded")
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache"):
        resolve_cached_repo("nobody/nothing")


def test_repo_id_versus_paths(tmp_path):
    assert looks_like_repo_id("CompVis/stable-diffusion-v1-4")
    assert not looks_like_repo_id("/abs/path/model")
    assert not looks_like_repo_id("model.safetensors")
    existing = tmp_path / "owner"
    (existing / "name").mkdir(parents=True)
    assert not looks_like_repo_id(str(existing / "name"))


def test_load_by_repo_id_from_the_cache_offline(fake_cache, tiny_model_dir, monkeypatch):
    import socket

    files = {str(p.relative_to(tiny_model_dir)): p.read_bytes() for p in tiny_model_dir.rglob("*") if p.is_file()}
    add_repo(fake_cache, "tiny/tiny-sd", files)
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address) or 1 / 0)
    model = load_model("tiny/tiny-sd", LoadOptions(device="cpu", precision="fp32"))
    assert attempts == []
    assert model.name == "tiny/tiny-sd" and model.source == "tiny/tiny-sd"
    assert model.info["kind"] == "Hugging Face cache"
    assert model.info["commit"] == "a" * 40
    assert model.pipe.unet.config.cross_attention_dim == 32
