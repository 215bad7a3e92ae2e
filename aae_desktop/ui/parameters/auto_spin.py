"""AutoSpinBox: a whole-number box whose lowest position means "automatic" and shows the number used."""
from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QSpinBox, QWidget

AUTO = -1


class AutoSpinBox(QSpinBox):
    """value() is None while automatic; the box then reads "Auto (10)", 10 being what a run would use.

    Stepping up from Auto starts at the automatic number (not at 0), so the artist adjusts what they
    see; stepping below 0, or typing "auto", returns to automatic.
    """

    def __init__(self, maximum: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRange(AUTO, maximum)
        self._automatic_value = 0
        self.setSpecialValueText("Auto")

    def number(self) -> int | None:
        raw = self.value()
        return None if raw == AUTO else raw

    def set_number(self, value: int | None) -> None:
        self.setValue(AUTO if value is None else max(0, min(value, self.maximum())))

    def is_automatic(self) -> bool:
        return self.value() == AUTO

    def set_automatic_value(self, value: int) -> None:
        """The number a run would use while the box is on Auto (it follows the step count)."""
        self._automatic_value = value
        self.setSpecialValueText(f"Auto ({value})")

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt naming)
        if self.is_automatic():
            # From "Auto (10)", up gives 11 and down 9: the artist adjusts the number they see.
            self.setValue(max(0, min(self._automatic_value + steps, self.maximum())))
            return
        super().stepBy(steps)

    def stepEnabled(self):  # noqa: N802 (Qt naming) - down is allowed from Auto too (see stepBy)
        flags = super().stepEnabled()
        if self.is_automatic():
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def valueFromText(self, text: str) -> int:  # noqa: N802 (Qt naming)
        if text.strip().lower().startswith("auto"):
            return AUTO
        return super().valueFromText(text)

    def validate(self, text: str, pos: int) -> object:
        typed = text.strip().lower()
        if typed and ("auto".startswith(typed) or typed.startswith("auto")):
            state = QValidator.State.Acceptable if typed.startswith("auto") else QValidator.State.Intermediate
            return state, text, pos
        return super().validate(text, pos)
