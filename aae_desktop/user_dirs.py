"""The per-user folders the app keeps its files in: platformdirs' place for each, unless an
environment variable names another (tests, portable installs, a self-test's scratch folders).

One function per folder; the variable and the platformdirs kind sit side by side in each. No Qt here.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

APP_NAME = "aae-desktop"
GALLERY_FOLDER_NAME = "Attend-and-Excite"


def _chosen(variable: str, default: Callable[[], str | Path]) -> Path:
    override = os.environ.get(variable)
    if override:
        return Path(override).expanduser()
    return Path(default())


def settings_file() -> Path:
    """<user config>/aae-desktop/settings.json; AAE_DESKTOP_CONFIG names the file itself. Other
    per-user settings files (models.json) sit beside it, so the variable moves them all."""
    from platformdirs import user_config_dir

    return _chosen("AAE_DESKTOP_CONFIG", lambda: Path(user_config_dir(APP_NAME, appauthor=False)) / "settings.json")


def gallery_dir() -> Path:
    """<user pictures>/Attend-and-Excite; AAE_DESKTOP_GALLERY_DIR overrides it."""
    from platformdirs import user_pictures_dir

    return _chosen("AAE_DESKTOP_GALLERY_DIR", lambda: Path(user_pictures_dir()) / GALLERY_FOLDER_NAME)


def data_dir() -> Path:
    """Per-user app data (the gallery index, rescued images, default LoRA/embedding folders);
    AAE_DESKTOP_DATA_DIR overrides it."""
    from platformdirs import user_data_dir

    return _chosen("AAE_DESKTOP_DATA_DIR", lambda: user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Per-user cache (model hashes, thumbnails): safe to delete; AAE_DESKTOP_CACHE_DIR overrides it."""
    from platformdirs import user_cache_dir

    return _chosen("AAE_DESKTOP_CACHE_DIR", lambda: user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """platformdirs' user log dir; AAE_DESKTOP_LOG_DIR overrides it."""
    from platformdirs import user_log_dir

    return _chosen("AAE_DESKTOP_LOG_DIR", lambda: user_log_dir(APP_NAME, appauthor=False))
