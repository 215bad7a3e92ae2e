"""GalleryModel: the gallery index as a Qt list model (newest first), with thumbnails and stars."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from aae_desktop.gallery.index import GalleryEntry
from aae_desktop.gallery.store import GalleryStore
from aae_desktop.ui.gallery.thumbnails import THUMB_SIZE, ThumbnailCache

EntryRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
FavouriteRole = Qt.ItemDataRole.UserRole + 3


class GalleryModel(QAbstractListModel):
    refreshed = Signal()

    def __init__(self, store: GalleryStore, thumbnails: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.store = store
        self._thumbs = thumbnails
        self._thumbs.ready.connect(self._thumbnail_ready)
        self._entries: list[GalleryEntry] = []
        self._rows: dict[str, int] = {}
        self.search = ""
        self.model_filter: str | None = None
        self.favourites_only = False
        self._placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._placeholder.fill(QColor(60, 60, 60))

    # -- Qt model -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            star = "★ " if entry.favourite else ""
            return f"{star}{entry.seed if entry.seed is not None else entry.name}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.get(entry.path, entry.mtime_ns) or self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.prompt or entry.name
        if role == EntryRole:
            return entry
        if role == PathRole:
            return entry.path
        if role == FavouriteRole:
            return entry.favourite
        return None

    # -- contents -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the index with the current filters (an SQLite query: fast enough for the UI thread)."""
        entries = self.store.entries(self.search, self.model_filter, self.favourites_only)
        self.beginResetModel()
        self._entries = entries
        self._rows = {e.path: i for i, e in enumerate(entries)}
        self.endResetModel()
        self.refreshed.emit()

    def set_filters(self, search: str | None = None, model: str | None = "", favourites_only: bool | None = None) -> None:
        """Change any of the filters (model "" keeps the current one; None means all models)."""
        if search is not None:
            self.search = search
        if model != "":
            self.model_filter = model
        if favourites_only is not None:
            self.favourites_only = favourites_only
        self.refresh()

    def entry(self, row: int) -> GalleryEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, path: str) -> int | None:
        return self._rows.get(path)

    def set_favourite(self, row: int, favourite: bool) -> None:
        entry = self.entry(row)
        if entry is None:
            return
        self.store.set_favourite(entry.path, favourite)
        if self.favourites_only and not favourite:
            self.refresh()
            return
        self._entries[row] = GalleryEntry(**{**entry.__dict__, "favourite": favourite})
        idx = self.index(row)
        self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DisplayRole, FavouriteRole])

    def _thumbnail_ready(self, path: str) -> None:
        row = self._rows.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
