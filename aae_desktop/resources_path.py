"""Locates the bundled resources folder, installed (aae_desktop/resources) or in a checkout."""
from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding tokenizer/, configs/ and icons/."""
    installed = _PACKAGE_DIR / "resources"
    if (installed / "tokenizer").is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def tokenizer_dir() -> Path:
    return resource("tokenizer")
