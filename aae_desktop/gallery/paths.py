"""Where the gallery lives: the pictures folder, the SQLite index and the hash/thumbnail caches."""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "aae-desktop"
GALLERY_FOLDER_NAME = "Attend-and-Excite"


def default_gallery_dir() -> Path:
    """<user pictures>/Attend-and-Excite; AAE_DESKTOP_GALLERY_DIR overrides it (tests, portable installs)."""
    override = os.environ.get("AAE_DESKTOP_GALLERY_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_pictures_dir

    return Path(user_pictures_dir()) / GALLERY_FOLDER_NAME


def data_dir() -> Path:
    """Per-user app data (the index); AAE_DESKTOP_DATA_DIR overrides it."""
    override = os.environ.get("AAE_DESKTOP_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Per-user cache (model hashes, thumbnails): safe to delete; AAE_DESKTOP_CACHE_DIR overrides it."""
    override = os.environ.get("AAE_DESKTOP_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def default_index_path() -> Path:
    return data_dir() / "gallery.sqlite3"


def fallback_dir() -> Path:
    """Where finished images go when the gallery folder fails during a run (<user data>/rescued)."""
    return data_dir() / "rescued"
