"""EtaSpinBox: the sampler's eta, reading "Default (1)" until the artist sets one; greyed out for
samplers that ignore eta."""
from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QWidget

STEP = 0.05
UNSET = -STEP  # one step below 0: Qt shows the special text there


class EtaSpinBox(QDoubleSpinBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRange(UNSET, 1.0)
        self.setDecimals(2)
        self.setSingleStep(STEP)
        self._default: float | None = None
        self.set_sampler_default(None)

    def eta(self) -> float | None:
        """None while on the sampler's default."""
        value = round(self.value(), 2)
        return None if value < 0 else value

    def set_eta(self, eta: float | None) -> None:
        self.setValue(UNSET if eta is None else min(max(eta, 0.0), 1.0))

    def set_sampler_default(self, default: float | None) -> None:
        """The eta this sampler uses unset; None = the sampler ignores eta (the box is disabled)."""
        self._default = default
        self.setEnabled(default is not None)
        if default is None:
            self.setSpecialValueText("Not used")
            self.setToolTip("Eta only changes DDIM and ancestral samplers (Euler a); this sampler ignores it.")
        else:
            self.setSpecialValueText(f"Default ({default:g})")
            self.setToolTip(
                "Share of fresh noise each step adds back, 0-1. DDIM: 0 is deterministic (its default), higher "
                "adds variety. Euler a: 1 is its normal ancestral step, lower is calmer and closer to plain Euler.")

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt naming)
        if self.eta() is None and self._default is not None:
            # From "Default (1)" the arrows adjust the number shown, not -0.05.
            self.setValue(min(max(self._default + steps * STEP, 0.0), 1.0))
            return
        super().stepBy(steps)

    def stepEnabled(self):  # noqa: N802 (Qt naming)
        flags = super().stepEnabled()
        if self.eta() is None:
            flags |= QDoubleSpinBox.StepEnabledFlag.StepDownEnabled
        return flags
