"""The window's Gallery menu (Folder…, Rebuild index) and the upkeep of the thumbnail cache.

The rebuild and the pruning read every file of the gallery, so they run on the gallery's own
background thread: after any save already queued, before any queued later, and never on the UI
thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

from aae_desktop.gallery.thumbnail_cache import DEFAULT_MAX_BYTES, PruneReport, keys_for, prune
from aae_desktop.ui.gallery.gallery_view import GalleryView

if TYPE_CHECKING:  # the window these panels live in (typed, not imported at run time)
    from aae_desktop.ui.main_window import MainWindow


class GalleryMenu:
    def __init__(self, window: "MainWindow", gallery: GalleryView, max_thumbnail_bytes: int = DEFAULT_MAX_BYTES):
        self.window = window
        self.gallery = gallery
        self.max_thumbnail_bytes = max_thumbnail_bytes
        self.rebuilding = False
        menu = window.menuBar().addMenu("G&allery")
        self.folder_action = QAction("&Folder…", window)
        self.folder_action.setToolTip("Choose the folder new images are saved in")
        self.folder_action.triggered.connect(gallery.folder_button.click)
        self.rebuild_action = QAction("&Rebuild index", window)
        self.rebuild_action.setToolTip("Read every image of the gallery folder again, with its star; the thumbnails "
                                       "of images no longer there are removed")
        self.rebuild_action.triggered.connect(self.rebuild_index)
        menu.addActions([self.folder_action, self.rebuild_action])

    def rebuild_index(self) -> None:
        if self.rebuilding:  # the action is disabled meanwhile; a shortcut or a script may still call
            return
        self.rebuilding = True
        self.rebuild_action.setEnabled(False)
        self.gallery.status.setText("Rebuilding the gallery index…")
        store = self.gallery.store

        def work() -> tuple[int, int]:
            store.rebuild()
            self._prune()
            return store.counts()

        self.gallery.background.call(work, self._rebuilt, self._failed)

    def _rebuilt(self, counts: tuple[int, int]) -> None:
        self._finished()
        self.gallery.refresh()
        notes = self.gallery.store.take_notes()
        if notes:
            self.gallery.problem.emit(" ".join(notes))
        total, stars = counts
        self.window.statusBar().showMessage(
            f"Gallery index rebuilt from the images: {total} image{'s' if total != 1 else ''}, {stars} starred", 8000)

    def _failed(self, exc: Exception) -> None:
        self._finished()
        self.gallery.refresh()
        self.window.banner.show_error("Gallery index not rebuilt", f"{exc} The previous index is kept.")

    def _finished(self) -> None:
        self.rebuilding = False
        self.rebuild_action.setEnabled(True)

    def prune_thumbnails(self) -> None:
        """Queue the pruning behind the gallery's start-up scan, so it knows which images are there."""
        self.gallery.background.call(self._prune)

    def _prune(self) -> PruneReport | None:
        folder = self.gallery.thumbnails.folder
        if folder is None:
            return None
        return prune(folder, keys_for(self.gallery.store.index.files()), self.max_thumbnail_bytes)
