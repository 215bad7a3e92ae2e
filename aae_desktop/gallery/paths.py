"""Where the gallery lives: the pictures folder, the SQLite index and the hash/thumbnail caches."""
from __future__ import annotations

from pathlib import Path

# The per-user folders themselves are looked up in aae_desktop.user_dirs; these names stay for the
# gallery's callers.
from aae_desktop.user_dirs import GALLERY_FOLDER_NAME, cache_dir, data_dir  # noqa: F401
from aae_desktop.user_dirs import gallery_dir as default_gallery_dir  # noqa: F401


def default_index_path() -> Path:
    return data_dir() / "gallery.sqlite3"


def fallback_dir() -> Path:
    """Where finished images go when the gallery folder fails during a run (<user data>/rescued)."""
    return data_dir() / "rescued"
