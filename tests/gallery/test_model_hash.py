"""Model hash: sha256 prefix, cached by path, size and mtime."""
from __future__ import annotations

import hashlib
import os

from aae_desktop.gallery import model_hash as mh


def test_hash_is_cached_until_file_changes(tmp_path, monkeypatch):
    ckpt = tmp_path / "model.safetensors"
    ckpt.write_bytes(b"weights v1")
    cache = tmp_path / "hashes.json"
    assert mh.model_hash(ckpt, cache) == hashlib.sha256(b"weights v1").hexdigest()[:10]

    calls = []
    real = mh._sha256
    monkeypatch.setattr(mh, "_sha256", lambda p: (calls.append(p), real(p))[1])
    assert mh.model_hash(ckpt, cache) == hashlib.sha256(b"weights v1").hexdigest()[:10]
    assert calls == []  # served from the cache

    ckpt.write_bytes(b"weights v2, longer")
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert mh.model_hash(ckpt, cache) == hashlib.sha256(b"weights v2, longer").hexdigest()[:10]
    assert len(calls) == 1


def test_no_hash_for_remote_names(tmp_path):
    assert mh.model_hash("runwayml/stable-diffusion-v1-5", tmp_path / "c.json") is None
    assert mh.model_display_name("/models/dreamshaper_8.safetensors") == "dreamshaper_8"
    assert mh.model_display_name("runwayml/stable-diffusion-v1-5") == "stable-diffusion-v1-5"
