"""Gallery thumbnails: made from the PNGs off the UI thread, kept in memory and in a disk cache."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from aae_desktop.atomic_write import atomic_write_bytes
from aae_desktop.gallery import thumbnail_cache
from aae_desktop.gallery.thumbnail_cache import mark_used, thumbnail_file
from aae_desktop.ui.background import Background

THUMB_SIZE = 160
MEMORY_ITEMS = 500


def make_thumbnail(path: str, mtime_ns: int, cache_folder: Path | None) -> QImage:
    """Runs on a pool thread; QImage (not QPixmap) is safe there."""
    cached = None
    if cache_folder is not None:
        cached = thumbnail_file(cache_folder, path, mtime_ns)
        if cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                mark_used(cached)  # pruning drops the least recently used first
                return image
    with Image.open(path) as img:
        img.thumbnail((THUMB_SIZE, THUMB_SIZE))
        rgba = img.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    image = QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888).copy()
    if cached is not None:
        _save_atomic(image, cached)
    return image


def _save_atomic(image: QImage, target: Path) -> None:
    """Temp file + rename: a thumbnail cut off half-written would otherwise be read back."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        return
    try:
        # not durable: a thumbnail lost to a power cut is made again
        atomic_write_bytes(target, bytes(buffer.data()), prefix=".", suffix=".png.part", durable=False,
                           make_folder=True)
    except OSError:
        pass  # the cache only saves time


class ThumbnailCache(QObject):
    """Ask for a thumbnail; get it now if known, else `ready(path)` fires once it is made."""

    ready = Signal(str)

    def __init__(self, cache_folder: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._cache_folder = cache_folder
        self._pixmaps: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._pending: set[tuple[str, int]] = set()
        self._failed: set[tuple[str, int]] = set()
        self.background = Background(threads=2, parent=self)

    def get(self, path: str, mtime_ns: int) -> QPixmap | None:
        key = (path, mtime_ns)
        if key in self._pixmaps:
            self._pixmaps.move_to_end(key)
            return self._pixmaps[key]
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self.background.call(lambda: make_thumbnail(path, mtime_ns, self._cache_folder),
                                 lambda image, key=key: self._store(key, image),
                                 lambda _exc, key=key: self._fail(key))
        return None

    @property
    def folder(self) -> Path | None:
        return self._cache_folder

    def forget(self, path: str, mtime_ns: int) -> None:
        """The image was deleted: drop its thumbnail from memory and from the disk cache now."""
        self._pixmaps.pop((path, mtime_ns), None)
        self._failed.discard((path, mtime_ns))
        if self._cache_folder is not None:
            thumbnail_cache.remove(self._cache_folder, path, mtime_ns)

    def _store(self, key: tuple[str, int], image: QImage) -> None:
        self._pending.discard(key)
        self._pixmaps[key] = QPixmap.fromImage(image)
        while len(self._pixmaps) > MEMORY_ITEMS:
            self._pixmaps.popitem(last=False)
        self.ready.emit(key[0])

    def _fail(self, key: tuple[str, int]) -> None:
        self._pending.discard(key)
        self._failed.add(key)  # an unreadable file is not retried on every repaint
