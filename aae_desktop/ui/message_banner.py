"""A dismissable banner above the preview for errors and notes; it never blocks like a dialog would."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


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
        layout.addWidget(self.text, 1)
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
