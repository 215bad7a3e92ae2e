"""The artist's LoRA and embedding folders: which files are there, by name, and their A1111 hashes.

A1111 names a LoRA or an embedding by its file name without the extension, wherever it sits below
the folder, so an A1111 or ComfyUI `loras` / `embeddings` folder can be used as it is. Hashes are
A1111's, so `Lora hashes` / `TI hashes` in our PNGs match the ones model sites and other tools show:
a LoRA `.safetensors` is hashed without its header (the "AutoV3" hash: only the tensor data, so
editing the file's metadata keeps it), everything else over the whole file; 12 hex digits are shown.
No torch here: the window lists folders with it.
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from aae_desktop.engine.addons.addon_kinds import EMBEDDING, LORA, AddonKind

LORA_SUFFIXES = LORA.suffixes
EMBEDDING_SUFFIXES = EMBEDDING.suffixes
SHORT_HASH_LENGTH = 12  # what A1111 writes in `Lora hashes` and `TI hashes`

_lock = threading.Lock()
_hashes: dict[tuple[str, int, int, bool], str] = {}


@dataclass(frozen=True)
class AddonFile:
    name: str  # the file name without extension: what a prompt calls it
    path: Path

    @property
    def relative_label(self) -> str:
        return self.path.name


def find_files(folder: str | Path | None, suffixes: Iterable[str]) -> list[AddonFile]:
    """Files with `suffixes` anywhere below `folder`, sorted by name; the first of two same names wins.

    A missing or unreadable folder is simply empty (the window says where it looks).
    """
    if not folder:
        return []
    root = Path(folder).expanduser()
    wanted = tuple(s.lower() for s in suffixes)
    found: dict[str, AddonFile] = {}
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda _exc: None, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.startswith(".") or path.suffix.lower() not in wanted:
                continue
            name = path.stem
            found.setdefault(name.lower(), AddonFile(name, path))
    return sorted(found.values(), key=lambda f: f.name.lower())


def find_kind(kind: AddonKind, folder: str | Path | None) -> list[AddonFile]:
    return find_files(folder, kind.suffixes)


def find_loras(folder: str | Path | None) -> list[AddonFile]:
    return find_kind(LORA, folder)


def find_embeddings(folder: str | Path | None) -> list[AddonFile]:
    return find_kind(EMBEDDING, folder)


def by_name(files: Iterable[AddonFile], name: str) -> AddonFile | None:
    """The file a prompt's NAME means (ignoring case, as A1111 does)."""
    return next((f for f in files if f.name.lower() == name.strip().lower()), None)


MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit


def read_safetensors_header(path: str | Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """{tensor name: shape} and the metadata of a .safetensors file, from its JSON header alone.

    Read without torch, so the window can list a folder without loading it. ValueError for a file
    that is not a .safetensors file (OSError if it cannot be read at all).
    """
    import json

    with open(path, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if not 2 <= length <= MAX_HEADER_BYTES:
            raise ValueError("no safetensors header")
        raw = handle.read(length)
        size = os.fstat(handle.fileno()).st_size
    if len(raw) != length:
        raise ValueError("the header is cut short")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("the header is not JSON") from exc
    if not isinstance(header, dict):
        raise ValueError("the header is not a table of tensors")
    metadata = header.pop("__metadata__", None) or {}
    shapes: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for key, entry in header.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"tensor {key!r} has no shape")
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"tensor {key!r} has no place in the file")
        data_end = max(data_end, offsets[1])
        shapes[str(key)] = tuple(shape)
    # The header arrives first: an interrupted download has all of it but not every tensor it lists.
    if 8 + length + data_end > size:
        raise ValueError("the tensors are cut short")
    return shapes, {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def kind_hash(kind: AddonKind, path: str | Path) -> str:
    """A1111's hash of an add-on file: sha256 of the whole file, or of a .safetensors file's tensor data
    (after its header) for the kinds A1111 hashes that way (LoRAs)."""
    path = Path(path)
    return _cached(path, skip_header=kind.hash_skips_header and path.suffix.lower() == ".safetensors")


def lora_hash(path: str | Path) -> str:
    return kind_hash(LORA, path)


def file_hash(path: str | Path) -> str:
    """sha256 of the whole file (A1111's embedding hash)."""
    return _cached(Path(path), skip_header=False)


def short_hash(full: str) -> str:
    return full[:SHORT_HASH_LENGTH]


def _cached(path: Path, skip_header: bool) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, skip_header)
    with _lock:
        if key in _hashes:
            return _hashes[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if skip_header:
            # .safetensors: 8 bytes little-endian header length, the JSON header, then the tensors.
            # A damaged file's length can point past its end: then the whole file is hashed, so the
            # listing can still name it while the header check says why it cannot be used.
            header_length = int.from_bytes(handle.read(8), "little")
            if 8 + header_length <= stat.st_size:
                handle.seek(8 + header_length)
            else:
                handle.seek(0)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    full = digest.hexdigest()
    with _lock:
        _hashes[key] = full
    return full
