"""A dismissable banner above the preview for errors and notes; it never blocks like a dialog would."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton, QWidget

MAX_LINES = 4  # a longer message scrolls inside the banner instead of raising the window's minimum height
MIN_LINES = 2  # what a squeezed window still shows before the banner scrolls


class _BoundedText(QScrollArea):
    """The banner's text: as tall as the message up to MAX_LINES lines, scrolling beyond."""

    def __init__(self, label: QLabel):
        super().__init__()
        self.setObjectName("messageScroll")
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Preferred, not a scroll area's usual Expanding: the preview below takes the spare height.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.viewport().setAutoFillBackground(False)
        label.setAutoFillBackground(False)
        self._label = label

    def _lines(self, count: int) -> int:
        return count * self._label.fontMetrics().lineSpacing()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        width = max(self.viewport().width(), 200)
        return QSize(width, min(self._label.heightForWidth(width), self._lines(MAX_LINES)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(100, min(self.sizeHint().height(), self._lines(MIN_LINES)))


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.text = QLabel()
        self.text.setObjectName("messageText")
        self.text.setWordWrap(True)
        close = QToolButton(text="✕")
        close.setObjectName("messageClose")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message.")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._text_area = _BoundedText(self.text)
        layout.addWidget(self._text_area, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_error(self, title: str, message: str) -> None:
        self._show("error", f"<b>{_escape(title)}</b> — {_escape(message)}")

    def show_info(self, message: str) -> None:
        self._show("info", _escape(message))

    def message(self) -> str:
        return self.text.text()

    def _show(self, kind: str, html: str) -> None:
        self.kind = kind
        self.setProperty("kind", kind)
        # Re-polish so the stylesheet picks up the new "kind" property.
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(html)
        self.show()
        self._text_area.updateGeometry()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
