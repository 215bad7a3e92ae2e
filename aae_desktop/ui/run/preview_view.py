"""The large centre pane: the live preview while a run goes, then the finished image."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from aae_desktop.ui.run.box_overlay import BoxOverlay


class PreviewView(QWidget):
    """Paints one image scaled to fit, keeping its aspect ratio, on a dark neutral backdrop."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("previewView")
        # 192 px: big enough to judge a preview, small enough for a 1024 x 640 screen with the tabs below
        self.setMinimumSize(QSize(192, 192))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Live preview while generating; the finished image when done.")
        self._pixmap: QPixmap | None = None
        # Scaled once per image and size: smooth scaling a preview up to the pane is the costly part
        # of a paint, and the pane repaints far more often than the image changes.
        self._scaled: QPixmap | None = None
        self._caption = ""
        self._placeholder = "Your image appears here.\nWrite a prompt, click the words that must appear, press Ctrl+Enter."
        self._canvas = QSize(512, 512)  # the next image's size: where boxes go before there is an image
        self.boxes = BoxOverlay(self, self.image_rect)  # words' boxes (BoxDiff), drawn over the image

    @property
    def has_image(self) -> bool:
        return self._pixmap is not None

    def image(self) -> QImage | None:
        return self._pixmap.toImage() if self._pixmap is not None else None

    def show_image(self, image: QImage, caption: str = "") -> None:
        # The pixmap is made here, on the UI thread, where QPixmap must live.
        self._pixmap = QPixmap.fromImage(image)
        self._scaled = None
        self._caption = caption
        self.update()

    def set_canvas_size(self, width: int, height: int) -> None:
        """The size the next image will have: the frame boxes are drawn in until an image arrives."""
        if width > 0 and height > 0 and QSize(width, height) != self._canvas:
            self._canvas = QSize(width, height)
            self.update()

    def image_rect(self) -> QRect:
        """Where the image (or, before one, the frame of the next one) is drawn in this widget."""
        size = self._pixmap.size() if self._pixmap is not None else self._canvas
        area = self.rect().adjusted(12, 12, -12, -30 if self._caption else -12)
        scaled = size.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        return target

    def clear(self, placeholder: str | None = None) -> None:
        self._pixmap = None
        self._scaled = None
        self._caption = ""
        if placeholder is not None:
            self._placeholder = placeholder
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1d22"))
        target = self.image_rect()
        if self._pixmap is None:
            if self.boxes.items or self.boxes.placing:  # the frame of the image the boxes are for
                painter.fillRect(target, QColor("#24272e"))
                painter.setPen(QColor("#3a3e48"))
                painter.drawRect(target.adjusted(0, 0, -1, -1))
            else:
                painter.setPen(QColor("#7d8290"))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            self.boxes.paint(painter)
            return
        if self._scaled is None or self._scaled.size() != target.size():
            # Small previews upscale smoothly; the point is the composition, not the pixels.
            self._scaled = self._pixmap.scaled(target.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap(target.topLeft(), self._scaled)
        if self._caption:
            painter.setPen(QColor("#aeb3bf"))
            caption_rect = QRect(0, target.bottom() + 4, self.width(), 22)
            painter.drawText(caption_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self._caption)
        self.boxes.paint(painter)
