"""The gallery's thumbnail cache on disk (`<cache>/thumbnails/<key>.png`): names, and keeping it small.

A thumbnail is named after the image's path and modification time, so a rewritten image gets a new
one and the old one is an orphan. Pruning removes orphans (images deleted, moved or rewritten) and
then the least recently used thumbnails until the cache fits its cap. Qt-free: the window makes the
thumbnails, this module only names and removes files.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # ~5,000-10,000 thumbnails of 160 px
THUMBNAIL_SUFFIX = ".png"


@dataclass
class PruneReport:
    removed: list[Path] = field(default_factory=list)
    kept_bytes: int = 0


def thumbnail_key(path: str, mtime_ns: int) -> str:
    return hashlib.sha1(f"{path}|{mtime_ns}".encode("utf-8")).hexdigest()


def thumbnail_file(folder: Path, path: str, mtime_ns: int) -> Path:
    return folder / f"{thumbnail_key(path, mtime_ns)}{THUMBNAIL_SUFFIX}"


def keys_for(files: Iterable[tuple[str, int]]) -> set[str]:
    """The keys of the thumbnails worth keeping for these (path, mtime_ns) pairs."""
    return {thumbnail_key(path, mtime_ns) for path, mtime_ns in files}


def mark_used(thumbnail: Path) -> None:
    """A thumbnail read from the cache counts as new: access times alone are not kept by every disk
    (noatime, relatime), so the modification time is bumped too."""
    try:
        os.utime(thumbnail)
    except OSError:
        pass  # a read-only cache only prunes less well


def remove(folder: Path, path: str, mtime_ns: int) -> None:
    """Forget the thumbnail of one image (it was deleted)."""
    try:
        thumbnail_file(folder, path, mtime_ns).unlink(missing_ok=True)
    except OSError:
        pass  # pruning will try again


def prune(folder: Path, keep: set[str], max_bytes: int = DEFAULT_MAX_BYTES) -> PruneReport:
    """Remove every file in `folder` that is not the thumbnail of a key in `keep`, then the least
    recently used thumbnails until the rest is at most `max_bytes`. Files that vanish meanwhile (a
    thumbnail written or removed on another thread) are skipped."""
    report = PruneReport()
    try:
        listing = list(os.scandir(folder))
    except OSError:
        return report
    kept: list[tuple[float, int, Path]] = []
    for item in listing:
        try:
            if not item.is_file(follow_symlinks=False):
                continue
            path = Path(item.path)
            if path.suffix == THUMBNAIL_SUFFIX and path.stem in keep:
                stat = item.stat(follow_symlinks=False)
                kept.append((max(stat.st_atime, stat.st_mtime), stat.st_size, path))
                continue
            path.unlink()
            report.removed.append(path)
        except OSError:
            continue
    kept.sort()  # least recently used first
    total = sum(size for _, size, _ in kept)
    for _, size, path in kept:
        if total <= max_bytes:
            break
        try:
            path.unlink()
            report.removed.append(path)
        except FileNotFoundError:
            pass  # removed meanwhile: it no longer counts either
        except OSError:
            continue
        total -= size
    report.kept_bytes = total
    return report
