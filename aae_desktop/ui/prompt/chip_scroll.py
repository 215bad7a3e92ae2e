"""ChipScroll: the word chips in an area of bounded height that scrolls when the prompt is long.

A 75-token prompt makes 40-odd chips; laid out in full they are taller than a laptop screen and
raise the window's minimum height with them. Here the area asks for the chips' full height only
up to MAX_ROWS rows and needs just one row, so the window's size never depends on the prompt.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QStyle, QWidget

from aae_desktop.ui.prompt.flow_layout import FlowContainer

MAX_ROWS = 6  # rows shown before the chips scroll (a 20-word prompt fits in a usual left column)
MIN_ROWS = 2  # rows a short window still shows


class ChipScroll(QScrollArea):
    def __init__(self, flow: FlowContainer, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("wordChipScroll")
        self._flow = flow
        self.setWidget(flow)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def _row_height(self) -> int:
        return self._flow.row_height()

    def _scroll_bar_width(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)

    def _rows(self, count: int) -> int:
        return count * self._row_height() + (count - 1) * self._flow.spacing()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        width = max(self.viewport().width(), 200)
        return QSize(width, min(self._flow.heightForWidth(width), self._rows(MAX_ROWS)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        widest = self._flow.minimumSizeHint().width()
        return QSize(widest + self._scroll_bar_width(), min(self._rows(MIN_ROWS), self.sizeHint().height()))

    def refresh(self) -> None:
        """After the chips change: the area's wanted height follows them (up to MAX_ROWS)."""
        self._flow.relayout()
        self.updateGeometry()

    def scroll_to(self, chip: QWidget) -> None:
        self.ensureWidgetVisible(chip, 0, 4)
