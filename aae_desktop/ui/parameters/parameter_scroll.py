"""ParameterScroll: the parameter panel's vertical scroll area, never narrower than the panel itself.

The panel scrolls vertically only (a sideways scroll bar in a form is clumsy), so the column must be
at least as wide as the panel's widest row plus the scroll bar, or spin boxes and buttons get cut
off at the window's edge when the splitter squeezes it.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea, QStyle, QWidget


class ParameterScroll(QScrollArea):
    def __init__(self, panel: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("parameterScroll")
        self.setWidgetResizable(True)
        self.setWidget(panel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        panel = self.widget()
        if panel is None:
            return hint
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        frame = 2 * self.frameWidth()
        return QSize(panel.minimumSizeHint().width() + scroll_bar + frame, hint.height())
