"""The "Bind attributes" parameter group (SynGen): on/off, its own steps and step size, paper defaults.

Which words bind to which is chosen in the word list (links between chips); this group says how hard
and how long binding pulls. It turns itself on when the prompt has pairs and off when it has none,
until the artist sets it by hand: from then on it stays as they left it.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton, QWidget

from aae_desktop.engine.bind_settings import DEFAULT_BIND_SCALE, BindSettings
from aae_desktop.ui.parameters.auto_spin import AutoSpinBox


class BindPanel(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Bind attributes", parent)
        self.setObjectName("bindGroup")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(
            "Keeps each attribute on its own word: in “a red cat and a blue frog” the cat stays red and the "
            "frog blue (SynGen, Rassin et al. 2023). Which word describes which is shown by the coloured "
            "underlines in the word list; right-click a word to change it.")
        self.following_pairs = True  # on/off follows whether the prompt has pairs, until the artist clicks
        self._following_now = False  # set while the panel itself switches on/off to follow the pairs
        self._steps = 50

        self.bind_steps = AutoSpinBox(1000)
        self.bind_steps.setObjectName("bindStepsSpin")
        self.bind_steps.setToolTip(
            "How many of the first denoising steps binding runs when no word is excited. Auto: the first "
            "half of the steps, as the SynGen implementation (25 of 50). With words excited, binding "
            "follows the Attend-and-Excite schedule.")
        self.bind_scale = QDoubleSpinBox(objectName="bindScaleSpin")
        self.bind_scale.setRange(0, 1000)
        self.bind_scale.setDecimals(1)
        self.bind_scale.setToolTip(
            "Step size of each binding update when binding runs alone (the implementation's 20). Larger values "
            "pull attributes onto their nouns harder, and move the image more.")
        self.pairs_note = QLabel(objectName="bindPairsNote", wordWrap=True)
        self.pairs_note.setProperty("role", "note")
        self.defaults = QPushButton("Paper defaults", objectName="bindDefaultsButton")
        self.defaults.setToolTip("Binding's steps and step size as in the SynGen implementation.")
        self.defaults.clicked.connect(self.reset_to_paper)

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.pairs_note)
        form.addRow("Bind steps", self.bind_steps)
        form.addRow("Bind step size", self.bind_scale)
        form.addRow("", self.defaults)
        for spin in (self.bind_steps, self.bind_scale):
            label = form.labelForField(spin)
            if label is not None:
                label.setToolTip(spin.toolTip())

        self.reset_to_paper()
        self.set_step_count(self._steps)
        self.toggled.connect(self._set_by_hand)
        self.toggled.connect(lambda _on: self.changed.emit())
        self.bind_steps.valueChanged.connect(self.changed)
        self.bind_scale.valueChanged.connect(self.changed)

    def _set_by_hand(self, _checked: bool) -> None:
        if not self._following_now:
            self.following_pairs = False

    def show_pairs(self, names: list[str]) -> None:
        """The pairs of the prompt now ("red → cat"): named in the group, and on/off while it follows them."""
        if self.following_pairs and self.isChecked() != bool(names):
            self._following_now = True
            self.setChecked(bool(names))
            self._following_now = False
        if names:
            self.pairs_note.setText("Binding " + ", ".join(names) + ".")
        else:
            self.pairs_note.setText("No pairs: write “a red cat”, or right-click a word to say which noun it describes.")

    def set_step_count(self, steps: int) -> None:
        self._steps = steps
        self.bind_steps.set_automatic_value(BindSettings().steps_for(steps))

    def values(self) -> tuple[bool, float, int | None]:
        """(enabled, step size, steps or None for automatic)."""
        return self.isChecked(), self.bind_scale.value(), self.bind_steps.number()

    def set_settings(self, settings: BindSettings) -> None:
        """An image's settings restored: shown as they were, and no longer following the pairs."""
        self.setChecked(settings.enabled)
        self.following_pairs = False
        self.bind_scale.setValue(settings.scale)
        self.bind_steps.set_number(settings.steps)

    def reset_to_paper(self) -> None:
        self.bind_scale.setValue(DEFAULT_BIND_SCALE)
        self.bind_steps.set_number(None)

    @staticmethod
    def field_labels() -> dict[str, str]:
        return {"bind": "Bind attributes"}
