"""Saving results into the gallery folder: atomic, never overwriting, with metadata and attention sidecars.

A save writes a hidden temporary file in the destination folder, flushes it to disk, then gives it
its final name with a hard link (which fails instead of replacing an existing file). A crash at any
point leaves either the complete PNG or nothing under a visible name; stale temporary files are
cleared by `clean_temporary_files` at the next start.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from aae_desktop.engine.events import GenerationResult, ImageResult
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.index import TEMP_SUFFIX, GalleryEntry, GalleryIndex, SyncReport
from aae_desktop.gallery.metadata import excited_words, png_info
from aae_desktop.gallery.model_hash import model_display_name, model_hash
from aae_desktop.gallery.paths import default_gallery_dir, default_index_path
from aae_desktop.gallery.sidecar import AttentionData, save_attention, sidecar_path

SLUG_WORDS = 6
SLUG_CHARS = 40
STALE_TEMP_SECONDS = 3600  # a save takes well under a second; older temp files are leftovers of a crash


def prompt_slug(prompt: str) -> str:
    """A short, filesystem-safe name from the prompt's first words ('a cat and a frog' -> 'a-cat-and-a-frog')."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[A-Za-z0-9]+", ascii_text.lower())[:SLUG_WORDS]
    slug = "-".join(words)[:SLUG_CHARS].strip("-")
    return slug or "image"


def image_name(request: GenerationRequest, when: datetime) -> str:
    return f"{when:%H%M%S}-{request.seed}-{prompt_slug(request.prompt)}"


def day_folder(root: Path, when: datetime) -> Path:
    return root / f"{when:%Y-%m-%d}"


def write_png_atomic(image: Image.Image, folder: Path, stem: str, pnginfo: Any = None) -> Path:
    """Write `image` as `<stem>.png` in `folder` (or `<stem>-2.png`, ... if taken); return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}-", suffix=".png" + TEMP_SUFFIX, dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, format="PNG", pnginfo=pnginfo)
            handle.flush()
            os.fsync(handle.fileno())
        return _claim_name(tmp, folder, stem, ".png")
    finally:
        tmp.unlink(missing_ok=True)


def _claim_name(tmp: Path, folder: Path, stem: str, suffix: str) -> Path:
    for n in range(1, 10_000):
        target = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.link(tmp, target)  # atomic, and refuses to replace an existing file
            return target
        except FileExistsError:
            continue
        except OSError:
            # File systems without hard links (some FAT/network drives): rename cannot overwrite on
            # Windows; elsewhere the exists() check narrows, but cannot close, the race.
            if target.exists():
                continue
            os.rename(tmp, target)
            return target
    raise OSError(f"No free file name for {stem} in {folder}")


def clean_temporary_files(root: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove temporary files that a killed save left behind (never complete images)."""
    removed = []
    if not root.is_dir():
        return removed
    cutoff = time.time() - older_than
    for path in root.rglob(f".*{TEMP_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


@dataclass(frozen=True)
class SavedImage:
    path: Path
    request: GenerationRequest
    attention_path: Path | None
    entry: GalleryEntry | None


class GalleryStore:
    """The gallery folder plus its index. No Qt: the UI calls this from a background thread."""

    def __init__(self, root: str | Path | None = None, index_path: str | Path | None = None,
                 trash: Callable[[str], None] | None = None, tokenizer: Any | None = None):
        self.root = Path(root).expanduser() if root else default_gallery_dir()
        self.index = GalleryIndex(index_path or default_index_path())
        self._trash = trash
        self.tokenizer = tokenizer  # turns token indices into words for the A1111 text; optional

    # -- saving ---------------------------------------------------------------------------------
    def save_image(self, image: Image.Image, request: GenerationRequest, *, attention: AttentionData | None = None,
                   model_name: str | None = None, hash_: str | None = None, when: datetime | None = None,
                   extra: dict[str, Any] | None = None, scheduler_class: str | None = None) -> SavedImage:
        """Save one image whose `request` reproduces it alone (num_images=1, its own seed)."""
        when = when or datetime.now()
        info = png_info(request, extra, model_name=model_name or model_display_name(request.model) or None,
                        model_hash=hash_, words=excited_words(request, self.tokenizer) or None,
                        scheduler_class=scheduler_class)
        path = write_png_atomic(image, day_folder(self.root, when), image_name(request, when), info)
        attention_path = save_attention(path, attention) if attention else None
        entry = self.index.add(path)
        return SavedImage(path, request, attention_path, entry)

    def save_result(self, result: GenerationResult, extra: dict[str, Any] | None = None,
                    when: datetime | None = None) -> list[SavedImage]:
        """Save every image of a finished generation, each with its own single-image request."""
        hash_ = self.model_hash(result.request.model)
        saved = []
        for image_result in result.images:
            saved.append(self.save_image_result(image_result, hash_=hash_, extra=extra, when=when))
        return saved

    def save_image_result(self, item: ImageResult, hash_: str | None = None, extra: dict[str, Any] | None = None,
                          when: datetime | None = None) -> SavedImage:
        attention = AttentionData(dict(item.attention_maps), list(item.loss_history))
        return self.save_image(item.image, item.request, attention=attention, hash_=hash_, when=when, extra=extra,
                               scheduler_class=item.scheduler or None)

    @staticmethod
    def model_hash(model: str) -> str | None:
        try:
            return model_hash(model)
        except OSError:
            return None  # unreadable weights: the image is still worth saving without the hash

    # -- browsing -------------------------------------------------------------------------------
    def entries(self, search: str = "", model: str | None = None, favourites_only: bool = False,
                limit: int | None = None) -> list[GalleryEntry]:
        return self.index.query(search, model, favourites_only, root=self.root, limit=limit)

    def set_favourite(self, path: str | Path, favourite: bool) -> None:
        self.index.set_favourite(path, favourite)

    def delete(self, path: str | Path) -> None:
        """Move the image (and its attention sidecar) to the system trash and forget it."""
        trash = self._trash
        if trash is None:
            from send2trash import send2trash as trash
        path = Path(path)
        if path.exists():
            trash(str(path))
        side = sidecar_path(path)
        if side.exists():
            trash(str(side))
        self.index.remove(path)

    def resync(self) -> SyncReport:
        clean_temporary_files(self.root)
        return self.index.resync(self.root)

    def rebuild(self) -> SyncReport:
        clean_temporary_files(self.root)
        return self.index.rebuild(self.root)
