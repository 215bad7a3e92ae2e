"""A widget that places its child widgets left to right and wraps them onto new lines, like words.

It positions children itself instead of subclassing QLayout: PySide6 6.12 mis-counts references
when a Python QLayout.itemAt() override returns None, which eventually crashes the interpreter.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QSizePolicy, QWidget


class FlowContainer(QWidget):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._widgets: list[QWidget] = []
        self._spacing = spacing
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def add_widget(self, widget: QWidget) -> None:
        widget.setParent(self)
        self._widgets.append(widget)
        widget.show()
        self.relayout()

    def relayout(self) -> None:
        """Call after children change size or visibility."""
        self._arrange(self.width(), move=True)
        self.updateGeometry()

    # -- QWidget sizing ---------------------------------------------------------------------------
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(width, move=False)

    def sizeHint(self) -> QSize:
        width = max(self.width(), 200)
        return QSize(width, self._arrange(width, move=False))

    def minimumSizeHint(self) -> QSize:
        widest = max((w.sizeHint().width() for w in self._visible()), default=0)
        return QSize(widest, self._arrange(max(self.width(), widest), move=False))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width(), move=True)

    def spacing(self) -> int:
        return self._spacing

    def row_height(self) -> int:
        """The height of one line of children (0 when there are none)."""
        return max((w.sizeHint().height() for w in self._visible()), default=0)

    def _visible(self) -> list[QWidget]:
        return [w for w in self._widgets if not w.isHidden()]

    def _arrange(self, width: int, move: bool) -> int:
        """Place children (when `move`) and return the height they need at this width."""
        x = y = line_height = 0
        for widget in self._visible():
            hint = widget.sizeHint()
            if x > 0 and x + hint.width() > width:
                x = 0
                y += line_height + self._spacing
                line_height = 0
            if move:
                widget.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height
