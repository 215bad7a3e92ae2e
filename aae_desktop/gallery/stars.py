"""Stars kept beside the images (`<name>.star`), so they survive a lost, damaged or rebuilt index.

A star is a tiny marker file next to the PNG, never a change to the PNG itself: rewriting an image
to flip one flag would risk the image for the sake of a bookmark. The marker travels with the image
when both are moved or copied together, like the `<name>.attn.npz` heat maps do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from aae_desktop.atomic_write import atomic_write_text

STAR_SUFFIX = ".star"
# What someone who opens the file sees; only the file's existence counts.
_MARKER_TEXT = "Starred in Attend-and-Excite Desktop. Delete this file to unstar the image beside it.\n"


def star_path(image_path: str | Path) -> Path:
    path = Path(image_path)
    return path.with_name(path.stem + STAR_SUFFIX)


def is_starred(image_path: str | Path) -> bool:
    return star_path(image_path).is_file()


def set_star(image_path: str | Path, starred: bool) -> None:
    """Write (atomically: temp file + rename) or remove the marker; OSError when the folder refuses."""
    target = star_path(image_path)
    if not starred:
        target.unlink(missing_ok=True)
        return
    if target.is_file():
        return
    atomic_write_text(target, _MARKER_TEXT, prefix=".", suffix=".star.part")


def write_markers(images: Iterable[str | Path]) -> bool:
    """Star each image that still exists; False when a folder refused a marker."""
    written = True
    for image in images:
        try:
            if Path(image).is_file():
                set_star(image, True)
        except OSError:
            written = False
    return written
