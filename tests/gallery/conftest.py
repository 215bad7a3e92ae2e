"""Gallery test helpers: requests, fake results and a store in tmp_path (never the real pictures folder)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aae_desktop.engine.events import GenerationResult, ImageResult, LossRecord
from aae_desktop.engine.request import GenerationRequest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DESKTOP_GALLERY_DIR", str(tmp_path / "pictures"))
    monkeypatch.setenv("AAE_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AAE_DESKTOP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))


@pytest.fixture
def request_():
    return GenerationRequest(model="tiny-random", prompt="a cat and a frog", negative_prompt="blurry",
                             seed=6141, steps=12, width=128, height=128, scheduler="ddim").with_excite(
        token_indices=(2, 5), max_iter_to_alter=6, thresholds=((0, 0.05), (5, 0.5)))


def fake_result(request, n=1, color=(200, 30, 30)):
    images = []
    for i in range(n):
        single = request.for_image(i)
        img = Image.new("RGB", (request.width, request.height), tuple((c + 40 * i) % 256 for c in color))
        maps = {t: np.random.default_rng(t + i).random((16, 16), dtype=np.float32) for t in request.excite.token_indices}
        history = [LossRecord(s, "exciting", 1.0 - 0.1 * s, {t: 0.1 * s for t in request.excite.token_indices})
                   for s in range(3)]
        images.append(ImageResult(img, single.seed, single, maps, history))
    return GenerationResult(request, images, elapsed=1.0, device="cpu")


@pytest.fixture
def store(tmp_path):
    from aae_desktop.gallery.store import GalleryStore

    trashed = []
    s = GalleryStore(tmp_path / "gallery", tmp_path / "index.sqlite3", trash=lambda p: (trashed.append(p), __import__("os").remove(p)))
    s.trashed = trashed
    return s


@pytest.fixture
def make_result():
    """Builds a GenerationResult with flat-colour images, random 16x16 maps and a short loss history."""
    return fake_result
