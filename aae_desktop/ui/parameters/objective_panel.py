"""A parameter group for an attention objective beside Attend-and-Excite (binding, boxes).

Each has an on/off box, its own steps and step size with "Paper defaults", and a line naming what
it acts on. It switches itself on when the prompt gives it something to do and off when nothing,
until the artist sets it by hand: from then on it stays as they left it.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton, QWidget

from aae_desktop.ui.parameters.auto_spin import AutoSpinBox


@dataclass(frozen=True)
class ObjectiveTexts:
    title: str
    name: str  # object-name prefix: "bind" -> bindGroup, bindStepsSpin, bindScaleSpin, ...
    tooltip: str
    steps_tooltip: str
    scale_tooltip: str
    defaults_tooltip: str
    nothing_note: str  # shown when the prompt gives the objective nothing to act on
    doing_note: str  # "Binding {}." with the names of what it acts on


class ObjectivePanel(QGroupBox):
    changed = Signal()

    def __init__(self, texts: ObjectiveTexts, default_scale: float, parent: QWidget | None = None):
        super().__init__(texts.title, parent)
        self._texts = texts
        self._default_scale = default_scale
        self.setObjectName(f"{texts.name}Group")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(texts.tooltip)
        self.following = True  # on/off follows whether there is something to act on, until set by hand
        self._following_now = False  # set while the panel itself switches on/off

        self.steps_spin = AutoSpinBox(1000)
        self.steps_spin.setObjectName(f"{texts.name}StepsSpin")
        self.steps_spin.setToolTip(texts.steps_tooltip)
        self.scale_spin = QDoubleSpinBox(objectName=f"{texts.name}ScaleSpin")
        self.scale_spin.setRange(0, 1000)
        self.scale_spin.setDecimals(1)
        self.scale_spin.setToolTip(texts.scale_tooltip)
        self.note = QLabel(objectName=f"{texts.name}Note", wordWrap=True)
        self.note.setProperty("role", "note")
        self.defaults = QPushButton("Paper defaults", objectName=f"{texts.name}DefaultsButton")
        self.defaults.setToolTip(texts.defaults_tooltip)
        self.defaults.clicked.connect(self.reset_to_paper)

        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow(self.note)
        self.form.addRow("Steps", self.steps_spin)
        self.form.addRow("Step size", self.scale_spin)
        self.form.addRow("", self.defaults)
        for spin in (self.steps_spin, self.scale_spin):
            label = self.form.labelForField(spin)
            if label is not None:
                label.setToolTip(spin.toolTip())

        self.reset_to_paper()
        self.toggled.connect(self._set_by_hand)
        self.toggled.connect(lambda _on: self.changed.emit())
        self.steps_spin.valueChanged.connect(self.changed)
        self.scale_spin.valueChanged.connect(self.changed)

    def _set_by_hand(self, _checked: bool) -> None:
        if not self._following_now:
            self.following = False

    def show_targets(self, names: list[str]) -> None:
        """What the objective acts on now: named in the group, and on/off while it follows them."""
        if self.following and self.isChecked() != bool(names):
            self._following_now = True
            self.setChecked(bool(names))
            self._following_now = False
        self.note.setText(self._texts.doing_note.format(", ".join(names)) if names else self._texts.nothing_note)

    def set_automatic_steps(self, steps: int) -> None:
        self.steps_spin.set_automatic_value(steps)

    def values(self) -> tuple[bool, float, int | None]:
        """(enabled, step size, steps or None for automatic)."""
        return self.isChecked(), self.scale_spin.value(), self.steps_spin.number()

    def set_values(self, enabled: bool, scale: float, steps: int | None) -> None:
        """An image's settings restored: shown as they were, and no longer following the prompt."""
        self.setChecked(enabled)
        self.following = False
        self.scale_spin.setValue(scale)
        self.steps_spin.set_number(steps)

    def reset_to_paper(self) -> None:
        self.scale_spin.setValue(self._default_scale)
        self.steps_spin.set_number(None)
