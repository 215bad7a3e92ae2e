"""The seed box: a QSpinBox that tells a seed the artist chose (typed, arrows, wheel) from one set by the app."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSpinBox, QWidget


class SeedSpinBox(QSpinBox):
    # The artist picked this seed: "use this one". Restores, the seed grid and random draws call
    # setValue() and do not emit it, so only the artist's own choice changes the seed mode.
    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.lineEdit().textEdited.connect(lambda _text: self.chosen.emit(self.value()))

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt naming): arrow keys, arrow buttons, wheel
        before = self.value()
        super().stepBy(steps)
        if self.value() != before:
            self.chosen.emit(self.value())
