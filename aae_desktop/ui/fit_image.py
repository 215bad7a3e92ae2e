"""FitImage: an image label that scales its picture to the space the layout gives it."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class FitImage(QLabel):
    """An image label that scales its picture to the space it gets (never dictating a tall layout)."""

    def __init__(self, object_name: str, parent: QWidget | None = None):
        super().__init__(parent, objectName=object_name, alignment=Qt.AlignmentFlag.AlignCenter)
        self._source = QPixmap()
        self.setMinimumSize(64, 64)  # small: the bottom tabs must fit a laptop screen
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QImage) -> None:
        self._source = QPixmap.fromImage(image)
        self._rescale()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        self.setPixmap(self._source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))
