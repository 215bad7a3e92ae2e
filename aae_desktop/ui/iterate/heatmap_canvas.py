"""HeatmapCanvas: each chosen word's attention over the image, tiled to fill the panel, captioned with
the word and its peak attention (a bound pair: one picture of two maps, each half tagged with its word)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

GAP = 8  # between cells, in pixels
CAPTION_HEIGHT = 24


@dataclass(frozen=True)
class Cell:
    word: str
    peak: float | None  # None: no number on the right of the caption (a pair's is in its caption)
    pixmap: QPixmap
    tags: tuple[str, ...] = ()  # one per equal-width part of the picture, from the left
    box: tuple[float, float, float, float] | None = None  # the word's box (0-1 of the image), drawn over it
    box_colour: str = "#ffffff"


def grid_shape(count: int, area: QSize, aspect: float) -> tuple[int, int]:
    """(columns, rows) that give each cell the largest picture for `count` pictures of width/height
    `aspect` in `area`: a wide panel puts words side by side, a tall one stacks them."""
    best, best_side = (1, 1), -1.0
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        cell_w = (area.width() - GAP * (cols - 1)) / cols
        cell_h = (area.height() - GAP * (rows - 1)) / rows
        width = min(cell_w, cell_h * aspect)  # the picture's width once it fits the cell
        if width > best_side:
            best, best_side = (cols, rows), width
    return best


class HeatmapCanvas(QWidget):
    """Paints the cells itself, so the pictures grow and shrink with the panel and never leave
    empty space around postage stamps."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("heatmapCanvas")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._cells: list[Cell] = []

    def set_cells(self, cells: list[tuple]) -> None:
        """(word, peak, image) or (word, peak, image, tags[, box, box colour]) per picture."""
        # Pixmaps are made here, on the UI thread, where QPixmap must live.
        self._cells = [Cell(word, peak, QPixmap.fromImage(image), *rest) for word, peak, image, *rest in cells]
        self.update()

    def clear(self) -> None:
        self._cells = []
        self.update()

    def words(self) -> list[str]:
        return [c.word for c in self._cells]

    def picture_rects(self) -> list[QRect]:
        """Where each picture is painted (tests and screenshots check that they fill the panel)."""
        if not self._cells:
            return []
        first = self._cells[0].pixmap
        aspect = first.width() / max(first.height(), 1)
        area = self.rect().adjusted(GAP, GAP, -GAP, -GAP)
        cols, rows = grid_shape(len(self._cells), area.size(), aspect)
        cell_w = (area.width() - GAP * (cols - 1)) / cols
        cell_h = (area.height() - GAP * (rows - 1)) / rows
        rects = []
        for i, cell in enumerate(self._cells):
            col, row = i % cols, i // cols
            box = QRectF(area.left() + col * (cell_w + GAP), area.top() + row * (cell_h + GAP), cell_w, cell_h)
            size = QSize(cell.pixmap.size()).scaled(box.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            rect = QRect(0, 0, size.width(), size.height())
            rect.moveCenter(box.center().toPoint())
            rects.append(rect)
        return rects

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1d22"))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for cell, rect in zip(self._cells, self.picture_rects()):
            painter.drawPixmap(rect, cell.pixmap)
            # The caption sits on the picture's lower edge, on a dark band so it reads on any image.
            band = QRect(rect.left(), rect.bottom() - CAPTION_HEIGHT + 1, rect.width(), CAPTION_HEIGHT)
            painter.fillRect(band, QColor(0, 0, 0, 150))
            painter.setPen(QColor("#ffffff"))
            text = cell.word
            if cell.tags:  # too narrow: keep the caption's end (a pair's overlap); the tags name the words
                text = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideLeft, band.width() - 16)
            painter.drawText(band.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             text)
            if cell.peak is not None:
                painter.setPen(QColor("#ffd180"))
                painter.drawText(band.adjusted(8, 0, -8, 0),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"peak {cell.peak:.2f}")
            self._paint_tags(painter, cell.tags, rect)
            if cell.box is not None:
                self._paint_box(painter, cell.box, cell.box_colour, rect)

    @staticmethod
    def _paint_box(painter: QPainter, box: tuple[float, float, float, float], colour: str, rect: QRect) -> None:
        """The word's box over its map: is the attention inside it?"""
        x0, y0, x1, y1 = box
        frame = QRectF(rect.left() + x0 * rect.width(), rect.top() + y0 * rect.height(),
                       (x1 - x0) * rect.width(), (y1 - y0) * rect.height())
        painter.save()
        painter.setPen(QPen(QColor(colour), 2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(frame.adjusted(1, 1, -1, -1))
        painter.restore()

    @staticmethod
    def _paint_tags(painter: QPainter, tags: tuple[str, ...], rect: QRect) -> None:
        """Each part's word in its top-left corner, on a dark patch only as wide as the word."""
        metrics = painter.fontMetrics()
        part = rect.width() / max(len(tags), 1)
        for i, tag in enumerate(tags):
            text = metrics.elidedText(tag, Qt.TextElideMode.ElideRight, max(int(part) - 16, 8))
            box = QRect(int(rect.left() + i * part), rect.top(), metrics.horizontalAdvance(text) + 12, CAPTION_HEIGHT)
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
