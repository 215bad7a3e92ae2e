"""ColumnScroll: a window column that scrolls vertically, never narrower than what it holds.

The window's columns (prompt and add-ons on the left, parameters on the right) scroll instead of
growing: otherwise a long prompt, a list of LoRAs or a tall panel raises the window's minimum
height past a laptop screen, and Qt then pushes the gallery and status bar off the bottom.
They scroll vertically only (a sideways scroll bar in a form is clumsy), so a column is at least
as wide as its content's widest row plus the scroll bar, or spin boxes and buttons get cut off at
the window's edge when the splitter squeezes it.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QWidget


class ColumnContent(QWidget):
    """A column's content that shrinks to the visible height before it scrolls.

    A scroll area gives content with wrapped text (height-for-width) its full preferred height, so
    the column would scroll even when everything fits squeezed. Answering "no preferred height" (-1)
    makes the area size it to the viewport, never below its minimum, and scroll only below that.
    """

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt naming)
        return -1


class ColumnScroll(QScrollArea):
    def __init__(self, content: QWidget, object_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWidgetResizable(True)
        self.setWidget(content)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        content = self.widget()
        if content is None:
            return hint
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        frame = 2 * self.frameWidth()
        return QSize(content.minimumSizeHint().width() + scroll_bar + frame, hint.height())


def frameless(scroll: ColumnScroll) -> ColumnScroll:
    """The left column sits flush with the window like the widgets it used to be."""
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll
