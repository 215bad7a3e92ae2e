"""A1111-style short model hash (first 10 hex of sha256), cached by path, size and mtime.

Hashing a multi-gigabyte checkpoint takes seconds, so each result is remembered in a small JSON
file in the cache dir and reused until the file's size or modification time changes.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from aae_desktop.atomic_write import atomic_write_text
from aae_desktop.gallery.paths import cache_dir

SHORT_HASH_LENGTH = 10
# For a diffusers folder the UNet weights identify the model (A1111 hashes the one checkpoint file).
_UNET_FILES = (
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.bin",
    "unet/diffusion_pytorch_model.fp16.bin",
)
_lock = threading.Lock()


def weights_file(model: str | Path) -> Path | None:
    """The file whose hash names the model: the checkpoint itself or a diffusers folder's UNet."""
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        for name in _UNET_FILES:
            if (path / name).is_file():
                return path / name
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_file() -> Path:
    return cache_dir() / "model_hashes.json"


def _load_cache(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, data: dict[str, dict]) -> None:
    try:
        # not durable: a cache lost to a power cut only costs time
        atomic_write_text(path, json.dumps(data), prefix=".hashes-", suffix=".json", durable=False,
                          make_folder=True)
    except OSError:
        pass  # a cache that cannot be written only costs time next run


def model_hash(model: str | Path, cache_path: Path | None = None) -> str | None:
    """Short hash of the model's weights, or None when `model` is not a local file or folder."""
    weights = weights_file(model)
    if weights is None:
        return None
    cache_path = cache_path or _cache_file()
    stat = weights.stat()
    key = str(weights.resolve())
    with _lock:
        cache = _load_cache(cache_path)
        hit = cache.get(key)
        if hit and hit.get("size") == stat.st_size and hit.get("mtime") == stat.st_mtime_ns:
            return hit["sha256"][:SHORT_HASH_LENGTH]
    full = _sha256(weights)
    with _lock:
        cache = _load_cache(cache_path)
        cache[key] = {"size": stat.st_size, "mtime": stat.st_mtime_ns, "sha256": full}
        _save_cache(cache_path, cache)
    return full[:SHORT_HASH_LENGTH]


def model_display_name(model: str) -> str:
    """What A1111's `Model:` field shows: the checkpoint's stem or the folder/repo name."""
    text = str(model).rstrip("/\\")
    if not text:
        return ""
    name = Path(text).name
    return Path(name).stem if Path(text).suffix in (".safetensors", ".ckpt", ".bin") else name.split("/")[-1]
