"""A/B comparison: the same seed with and without Attend-and-Excite (or with and without binding), side by
side or with a split slider."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QStackedWidget,
                               QVBoxLayout, QWidget)

from aae_desktop.ui.fit_image import FitImage
from aae_desktop.ui.iterate.iteration_runs import AB_BIND, AB_EXCITE

LABEL_WITH = "With Attend-and-Excite"
LABEL_WITHOUT = "Without (plain Stable Diffusion)"
# Per comparison: its name in the combo, the two sides' labels, and the short marks on the split view.
COMPARISONS = {
    AB_EXCITE: ("Attend-and-Excite vs plain", LABEL_WITH, LABEL_WITHOUT, ("A&E", "plain")),
    AB_BIND: ("Excite + bind vs excite", "With binding", "Without binding", ("bind", "no bind")),
}


def a_side(kind: str) -> str:
    """What the A half of a comparison has, for captions inside a sentence ("with binding")."""
    label = COMPARISONS[kind][1]
    return label[0].lower() + label[1:]


class SplitCompare(QWidget):
    """Both images in one frame: left of the split shows A, right shows B."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("abSplit")
        self.setMinimumSize(64, 64)  # small: the bottom tabs must fit a laptop screen
        self.left: QImage | None = None
        self.right: QImage | None = None
        self.fraction = 0.5
        self.marks = COMPARISONS[AB_EXCITE][3]

    def set_images(self, left: QImage, right: QImage) -> None:
        self.left, self.right = left, right
        self.update()

    def set_fraction(self, fraction: float) -> None:
        self.fraction = min(max(fraction, 0.0), 1.0)
        self.update()

    def image_rect(self) -> QRectF:
        if self.left is None:
            return QRectF(self.rect())
        size = self.left.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2, size.width(), size.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if self.left is None or self.right is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.image_rect()
        split_x = target.left() + target.width() * self.fraction
        painter.save()
        painter.setClipRect(QRectF(target.left(), target.top(), split_x - target.left(), target.height()))
        painter.drawImage(target, self.left)
        painter.restore()
        painter.save()
        painter.setClipRect(QRectF(split_x, target.top(), target.right() - split_x, target.height()))
        painter.drawImage(target, self.right)
        painter.restore()
        painter.setPen(QColor("white"))
        painter.drawLine(QPointF(split_x, target.top()), QPointF(split_x, target.bottom()))
        painter.drawText(QPointF(target.left() + 6, target.top() + 16), self.marks[0])
        right = painter.fontMetrics().horizontalAdvance(self.marks[1])
        painter.drawText(QPointF(target.right() - right - 6, target.top() + 16), self.marks[1])


class ABView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("abView")
        self.seed: int | None = None
        self.title = QLabel("A/B: render once to compare with and without Attend-and-Excite.", objectName="abTitle")
        self.comparison = QComboBox(objectName="abComparison")
        for kind, (name, *_labels) in COMPARISONS.items():
            self.comparison.addItem(name, kind)
        self.comparison.setToolTip("What the next A/B compares at one seed: the image with Attend-and-Excite "
                                   "against plain Stable Diffusion, or with binding against the same "
                                   "excitation without binding.")
        self.split_mode = QCheckBox("Split slider", objectName="abSplitMode")
        self.split_mode.toggled.connect(self._mode_changed)
        self.left_image = FitImage("abWith")
        self.right_image = FitImage("abWithout")
        self.left_label = QLabel(LABEL_WITH, alignment=Qt.AlignmentFlag.AlignCenter)
        self.right_label = QLabel(LABEL_WITHOUT, alignment=Qt.AlignmentFlag.AlignCenter)
        side = QWidget()
        grid = QGridLayout(side)
        grid.addWidget(self.left_image, 0, 0)
        grid.addWidget(self.right_image, 0, 1)
        grid.addWidget(self.left_label, 1, 0)
        grid.addWidget(self.right_label, 1, 1)
        grid.setRowStretch(0, 1)
        self.split = SplitCompare()
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="abSlider")
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(lambda v: self.split.set_fraction(v / 1000))
        split_box = QWidget()
        split_layout = QVBoxLayout(split_box)
        split_layout.addWidget(self.split, 1)
        split_layout.addWidget(self.slider)
        self.stack = QStackedWidget()
        self.stack.addWidget(side)
        self.stack.addWidget(split_box)
        # The choice shares the split-slider row: the A/B tab must stay short on a laptop screen.
        options = QHBoxLayout()
        options.addWidget(QLabel("Compare:"))
        options.addWidget(self.comparison)
        options.addWidget(self.split_mode)
        options.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(options)
        layout.addWidget(self.stack, 1)

    def comparison_kind(self) -> str:
        return self.comparison.currentData()

    def set_pair(self, with_excite: QImage, without: QImage, seed: int, words: str = "",
                 kind: str = AB_EXCITE) -> None:
        self.seed = seed
        name, left, right, marks = COMPARISONS[kind]
        about = f" — excited: {words}" if words else ""
        what = f" · {name.lower()}" if kind != AB_EXCITE else ""
        self.title.setText(f"A/B at seed {seed}{what}{about}")
        self.left_label.setText(left)
        self.right_label.setText(right)
        self.split.marks = marks
        self.left_image.set_image(with_excite)
        self.right_image.set_image(without)
        self.split.set_images(with_excite, without)

    def _mode_changed(self, split: bool) -> None:
        self.stack.setCurrentIndex(1 if split else 0)
