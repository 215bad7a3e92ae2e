"""LossCurveWidget: the excitation loss over the denoising steps, one line per word, drawn with QPainter."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from aae_desktop.gallery.heatmaps import LossCurve

# Distinct, colour-blind-friendly line colours (Okabe-Ito); the overall loss is drawn in grey.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 10, 10, 22
# The y axis fits the data: the smallest span it shows (so noise of a millionth is not blown up into
# swings) and the share of the span added above and below (so no curve runs along the frame).
MIN_SPAN, PADDING = 0.002, 0.08
# The legend sits in rows above the plot: losses start near 1.0, where a legend inside would hide them.
LEGEND_ROW, SWATCH, LEGEND_GAP = 16, 14, 12


class LossCurveWidget(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lossCurve")
        self.setMinimumSize(240, 100)  # the legend and two curves still read at 100 px
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.curves: list[LossCurve] = []

    def set_curves(self, curves: list[LossCurve]) -> None:
        self.curves = list(curves)
        self.setToolTip("\n".join(f"{c.label}: {c.values[0]:.3f} → {c.values[-1]:.3f}" for c in self.curves if c.values))
        self.update()

    def colour(self, index: int) -> QColor:
        return QColor("#888888") if self.curves and self.curves[index].label == "loss" else QColor(PALETTE[index % len(PALETTE)])

    def legend_layout(self) -> list[QRectF]:
        """Where each curve's legend entry (swatch and label) goes, wrapping into rows above the plot."""
        metrics = QFontMetrics(self.font())
        right = self.width() - MARGIN_RIGHT
        x, row, entries = float(MARGIN_LEFT), 0, []
        for curve in self.curves:
            width = SWATCH + 4 + metrics.horizontalAdvance(curve.label)
            if x > MARGIN_LEFT and x + width > right:
                x, row = float(MARGIN_LEFT), row + 1
            entries.append(QRectF(x, 4 + row * LEGEND_ROW, width, LEGEND_ROW))
            x += width + LEGEND_GAP
        return entries

    def plot_rect(self) -> QRectF:
        legend = self.legend_layout()
        top = (legend[-1].bottom() + 6) if legend else MARGIN_TOP
        return QRectF(MARGIN_LEFT, top, max(1, self.width() - MARGIN_LEFT - MARGIN_RIGHT),
                      max(1, self.height() - top - MARGIN_BOTTOM))

    def value_range(self) -> tuple[float, float]:
        """The y axis: the curves' values with some room around them, within [0, 1] where the loss lives.
        Fitted to the data, since curves that differ by 0.001 would lie on one line on a 0-1 axis."""
        values = [min(max(v, 0.0), 1.0) for c in self.curves for v in c.values if math.isfinite(v)]
        if not values:
            return 0.0, 1.0
        low, high = min(values), max(values)
        pad = max((high - low) * PADDING, (MIN_SPAN - (high - low)) / 2, 0.0)
        low, high = low - pad, high + pad
        if low < 0.0:  # keep the span, moved inside [0, 1]
            low, high = 0.0, min(1.0, high - low)
        if high > 1.0:
            low, high = max(0.0, low - (high - 1.0)), 1.0
        return low, high

    def point(self, step: float, value: float, max_step: float) -> QPointF:
        r = self.plot_rect()
        low, high = self.value_range()
        x = r.left() + (step / max_step if max_step > 0 else 0.5) * r.width()
        y = r.bottom() - (min(max(value, low), high) - low) / (high - low) * r.height()
        return QPointF(x, y)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.plot_rect()
        text_pen = QPen(self.palette().color(self.foregroundRole()))
        painter.setPen(text_pen)
        if not self.curves:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No excitation loss recorded")
            return
        max_step = max(max(c.steps) for c in self.curves if c.steps)
        painter.drawRect(r)
        low, high = self.value_range()
        # Enough decimals that the two ends read differently (0.500 and 0.502, not 0.50 twice).
        decimals = min(4, max(2, math.ceil(-math.log10(high - low))))
        painter.drawText(QRectF(0, r.top() - 6, MARGIN_LEFT - 4, 14), Qt.AlignmentFlag.AlignRight, f"{high:.{decimals}f}")
        painter.drawText(QRectF(0, r.bottom() - 8, MARGIN_LEFT - 4, 14), Qt.AlignmentFlag.AlignRight, f"{low:.{decimals}f}")
        painter.drawText(QRectF(r.left(), r.bottom() + 4, r.width(), 16), Qt.AlignmentFlag.AlignCenter,
                         f"step (0–{max_step})")
        legend = self.legend_layout()
        for i, curve in enumerate(self.curves):
            pen = QPen(self.colour(i), 2)
            if curve.label == "loss":
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            path = QPainterPath()
            for j, (step, value) in enumerate(zip(curve.steps, curve.values)):
                p = self.point(step, value, max_step)
                path.moveTo(p) if j == 0 else path.lineTo(p)
            painter.drawPath(path)
            entry = legend[i]
            middle = entry.center().y()
            painter.drawLine(QPointF(entry.left(), middle), QPointF(entry.left() + SWATCH, middle))
            painter.setPen(text_pen)
            painter.drawText(entry.adjusted(SWATCH + 4, 0, 0, 0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, curve.label)
