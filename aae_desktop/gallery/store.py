"""Saving results into the gallery folder: atomic, never overwriting, with metadata and attention sidecars.

The PNG is the record; everything else is secondary. A save writes the PNG first (png_files: a
temporary file, then a link that never replaces a file), then the attention sidecar, then the
index entry, and a failure of either of the latter is a note, not a lost image. When the gallery
folder itself fails during a run, the image goes to a fallback folder and a note says where.
"""
from __future__ import annotations

import re
import sqlite3
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from aae_desktop.engine.events import GenerationResult, ImageResult
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.index import GalleryEntry, GalleryIndex, SyncReport
from aae_desktop.gallery.metadata import excited_words, png_info
from aae_desktop.gallery.model_hash import model_display_name, model_hash
from aae_desktop.gallery.paths import default_gallery_dir, default_index_path, fallback_dir
from aae_desktop.gallery.png_files import (  # noqa: F401  (write_png_atomic and friends are used from here too)
    STALE_TEMP_SECONDS,
    TEMP_SUFFIX,
    FolderUnusable,
    check_folder_writable,
    tidy_temporary_files,
    write_png_atomic,
)
from aae_desktop.gallery.sidecar import AttentionData, save_attention, sidecar_path
from aae_desktop.gallery.stars import set_star, star_path

SLUG_WORDS = 6
SLUG_CHARS = 40


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


def clean_temporary_files(root: Path) -> list[Path]:
    """Tidy the temporary files killed saves left (complete images are recovered); return those removed."""
    return tidy_temporary_files(root).removed


@dataclass(frozen=True)
class SavedImage:
    path: Path
    request: GenerationRequest
    attention_path: Path | None
    entry: GalleryEntry | None  # None when the index could not take it (the PNG is there all the same)
    in_fallback: bool = False  # saved to paths.fallback_dir() because the gallery folder failed


class GalleryStore:
    """The gallery folder plus its index. No Qt: the UI calls this from a background thread."""

    def __init__(self, root: str | Path | None = None, index_path: str | Path | None = None,
                 trash: Callable[[str], None] | None = None, tokenizer: Any | None = None):
        self.root = Path(root).expanduser() if root else default_gallery_dir()
        self.index = GalleryIndex(index_path or default_index_path())
        self._trash = trash
        self.tokenizer = tokenizer  # turns token indices into words for the A1111 text; optional
        self._notes: list[str] = []
        self._notes_lock = threading.Lock()  # saves add notes on a worker thread; the UI takes them

    # -- what the user should hear about ------------------------------------------------------------
    def take_notes(self) -> list[str]:
        """Notes since the last call (an index moved aside, images recovered or saved elsewhere)."""
        with self._notes_lock:
            own, self._notes = self._notes, []
        return self.index.take_notes() + own

    def _note(self, text: str) -> None:
        with self._notes_lock:
            self._notes.append(text)

    def check_writable(self) -> None:
        """Raise FolderUnusable (a one-sentence message) unless new images can be saved into the gallery."""
        try:
            check_folder_writable(self.root)
        except FolderUnusable as exc:
            raise FolderUnusable(f"The gallery folder cannot take new images: {exc}.") from exc

    def _repair_index(self) -> None:
        """A damaged index was replaced by an empty one: fill it from the PNGs, as the note promised."""
        if self.index.recreated:
            self.index.recreated = False
            self.index.resync(self.root)
            self.index.finish_repair(self.root)

    # -- saving ---------------------------------------------------------------------------------
    def save_image(self, image: Image.Image, request: GenerationRequest, *, attention: AttentionData | None = None,
                   model_name: str | None = None, hash_: str | None = None, when: datetime | None = None,
                   extra: dict[str, Any] | None = None, scheduler_class: str | None = None) -> SavedImage:
        """Save one image whose `request` reproduces it alone (num_images=1, its own seed).

        Raises OSError only when neither the gallery folder nor the fallback folder can take it.
        """
        when = when or datetime.now()
        info = png_info(request, extra, model_name=model_name or model_display_name(request.model) or None,
                        model_hash=hash_, words=excited_words(request, self.tokenizer) or None,
                        scheduler_class=scheduler_class)
        stem = image_name(request, when)
        try:
            path = write_png_atomic(image, day_folder(self.root, when), stem, info)
        except OSError as exc:
            path = self._save_elsewhere(image, stem, info, exc)
            return SavedImage(path, request, None, None, in_fallback=True)
        attention_path = None
        if attention:
            try:
                attention_path = save_attention(path, attention)
            except OSError as exc:
                self._note(f"The heat maps of {path.name} could not be saved ({exc}); the image is saved.")
        try:
            entry = self.index.add(path)
            self._repair_index()
        except (sqlite3.Error, OSError) as exc:
            entry = None
            self._note(f"{path.name} is saved but not in the gallery index ({exc}); it will appear after "
                               "the next start or `aae-desktop gallery rebuild`.")
        return SavedImage(path, request, attention_path, entry)

    def _save_elsewhere(self, image: Image.Image, stem: str, info: Any, failure: OSError) -> Path:
        """The gallery folder failed mid-run (removed, full, made read-only): keep the image anyway."""
        last: OSError = failure
        for folder in (fallback_dir(), Path(tempfile.gettempdir()) / "aae-desktop-rescued"):
            try:
                path = write_png_atomic(image, folder, stem, info)
            except OSError as exc:
                last = exc
                continue
            self._note(f"The gallery folder {self.root} could not be written ({failure.strerror or failure}); "
                               f"the image was saved to {path} instead.")
            return path
        raise last

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
        if item.model_family:  # which kind of model drew it (SD 1.x, SDXL...), beside the request
            extra = {"model_family": item.model_family, **(extra or {})}
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
        found = self.index.query(search, model, favourites_only, root=self.root, limit=limit)
        if self.index.recreated:  # the index was found damaged just now: answer from the rebuilt one
            self._repair_index()
            found = self.index.query(search, model, favourites_only, root=self.root, limit=limit)
        return found

    def set_favourite(self, path: str | Path, favourite: bool) -> None:
        """Star or unstar: the marker beside the image first (OSError when the folder refuses it),
        so the index never holds a star that a rebuild would lose."""
        set_star(path, favourite)
        self.index.set_favourite(path, favourite)

    def delete(self, path: str | Path) -> None:
        """Move the image (with its heat maps and star) to the system trash and forget it; restoring them
        from the trash together brings the image back as it was."""
        trash = self._trash
        if trash is None:
            from send2trash import send2trash as trash
        path = Path(path)
        if path.exists():
            trash(str(path))
        for side in (sidecar_path(path), star_path(path)):
            if side.exists():
                trash(str(side))
        self.index.remove(path)

    def resync(self) -> SyncReport:
        self._tidy()
        self.index.recreated = False
        report = self.index.resync(self.root)
        self.index.finish_repair(self.root)
        return report

    def rebuild(self) -> SyncReport:
        self._tidy()
        report = self.index.rebuild(self.root)
        self.index.finish_repair(self.root)
        return report

    def counts(self) -> tuple[int, int]:
        """(images, starred images) in the gallery folder."""
        return self.index.counts(self.root)

    def _tidy(self) -> None:
        recovered = tidy_temporary_files(self.root).recovered
        if recovered:
            n = len(recovered)
            names = ", ".join(str(p) for p in recovered[:3]) + (", ..." if n > 3 else "")
            self._note(f"Recovered {n} image{'s' if n != 1 else ''} that an interrupted save left unfinished: "
                               f"{names}.")
