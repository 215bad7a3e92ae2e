"""This session's finished images as a horizontal strip (the gallery panel replaces it when present)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QMenu, QWidget

from aae_desktop.engine.events import ImageResult
from aae_desktop.engine.request import GenerationRequest

THUMB = 96
ResultRole = Qt.ItemDataRole.UserRole + 1


@dataclass
class ResultItem:
    image: QImage
    thumbnail: QPixmap
    result: ImageResult


class ResultListModel(QAbstractListModel):
    """Newest first, so the latest run is always in view at the left."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self._items: list[ResultItem] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return item.thumbnail
        if role == Qt.ItemDataRole.DisplayRole:
            return f"seed {item.result.seed}"
        if role == Qt.ItemDataRole.ToolTipRole:
            req = item.result.request
            words = "" if not req.excite.enabled else f" · excited tokens {list(req.excite.token_indices)}"
            return f"{req.prompt}\nseed {item.result.seed} · {req.width}×{req.height} · {req.steps} steps{words}"
        if role == ResultRole:
            return item
        return None

    def add(self, image: QImage, result: ImageResult) -> None:
        thumb = QPixmap.fromImage(image).scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._items.insert(0, ResultItem(image, thumb, result))
        self.endInsertRows()

    def item(self, row: int) -> ResultItem:
        return self._items[row]


class ResultStrip(QListView):
    image_chosen = Signal(object)  # ResultItem: show it large
    seed_wanted = Signal(int)
    request_wanted = Signal(object)  # GenerationRequest: "use all settings"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("galleryView")
        self.results = ResultListModel(self)
        self.setModel(self.results)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSpacing(6)
        self.setUniformItemSizes(True)
        self.setMinimumHeight(THUMB + 44)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setToolTip("Images made in this session. Click one to view it; right-click to reuse its seed or settings.")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.clicked.connect(lambda index: self.image_chosen.emit(self.results.item(index.row())))

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.results.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(QColor("#6f7482"))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                             "Finished images of this session collect here.")

    def _menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        item = self.results.item(index.row())
        menu = QMenu(self)
        seed = QAction(f"Use seed {item.result.seed}", menu)
        seed.triggered.connect(lambda: self.seed_wanted.emit(item.result.seed))
        settings = QAction("Use all settings", menu)
        settings.triggered.connect(lambda: self.request_wanted.emit(item.result.request))
        menu.addActions([seed, settings])
        menu.exec(self.viewport().mapToGlobal(pos))
