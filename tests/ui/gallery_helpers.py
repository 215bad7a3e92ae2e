"""Shared by the gallery/iteration UI tests: fake results and a gallery store in tmp_path."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from aae_desktop.engine.events import GenerationResult, ImageResult, LossRecord
from aae_desktop.engine.request import GenerationRequest


def isolate_dirs(tmp_path, monkeypatch) -> None:
    """Keep every test out of the real pictures, data and cache folders."""
    monkeypatch.setenv("AAE_DESKTOP_GALLERY_DIR", str(tmp_path / "pictures"))
    monkeypatch.setenv("AAE_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AAE_DESKTOP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))


def sample_request(**changes) -> GenerationRequest:
    base = GenerationRequest(model="tiny-random", prompt="a cat and a frog", negative_prompt="blurry", seed=6141,
                             steps=12, width=64, height=64, scheduler="ddim")
    return base.replace(**changes).with_excite(token_indices=(2, 5), max_iter_to_alter=6)


def fake_result(request: GenerationRequest, n: int = 1) -> GenerationResult:
    images = []
    for i in range(n):
        single = request.for_image(i)
        img = Image.new("RGB", (request.width, request.height), ((50 * i) % 256, 120, 200))
        yy, xx = np.mgrid[0:16, 0:16].astype(np.float32)
        maps = {t: np.exp(-((xx - t) ** 2 + (yy - 8) ** 2) / 8).astype(np.float32) for t in request.excite.token_indices}
        history = [LossRecord(s, "exciting", 1.0 - 0.1 * s, {t: 0.1 * s + 0.01 * t for t in request.excite.token_indices})
                   for s in range(4)]
        images.append(ImageResult(img, single.seed, single, maps, history))
    return GenerationResult(request, images, elapsed=1.0, device="cpu")


def make_store(tmp_path):
    from aae_desktop.gallery.store import GalleryStore

    trashed: list[str] = []

    def trash(path: str) -> None:
        trashed.append(path)
        os.remove(path)

    store = GalleryStore(tmp_path / "gallery", tmp_path / "index.sqlite3", trash=trash)
    store.trashed = trashed
    return store
