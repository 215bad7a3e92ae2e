"""The "Attend-and-Excite" parameter group: on/off, schedule, step size, smoothing, refinement cap."""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from aae_desktop.engine.errors import InvalidRequest, worded
from aae_desktop.engine.request import ExciteSettings, format_thresholds, parse_thresholds
from aae_desktop.engine.run.schedule import Schedule, automatic_thresholds, resolve_schedule
from aae_desktop.ui.parameters.auto_spin import AutoSpinBox


class ExcitePanel(QGroupBox):
    """Edits every ExciteSettings field except the token indices (those come from the chosen words)."""

    changed = Signal()
    toggled_on = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Attend-and-Excite", parent)
        self.setObjectName("exciteGroup")
        self.setCheckable(True)
        self.setToolTip(
            "On: the chosen words are pushed into the image during the first steps, so no subject goes "
            "missing. Off: plain Stable Diffusion (faster, chosen words are ignored)."
        )
        # Fields the panel does not show are kept from the last applied request, so restoring an
        # image's settings and generating again reproduces it exactly.
        self._hidden = ExciteSettings()
        self._steps = 50  # the step count the schedule is shown for (ParameterPanel keeps it current)

        self.max_iter = AutoSpinBox(1000)
        self.max_iter.setObjectName("maxIterSpin")
        self.max_iter.setToolTip(
            "How many of the first denoising steps get excited. The layout of the image is decided early; "
            "more steps enforce the words longer but can over-bake the picture. Auto follows the step "
            "count: the paper's 25 of 50, i.e. half the steps.")
        self.max_iter_note = _note("maxIterNote")
        self.thresholds = QLineEdit()
        self.thresholds.setObjectName("thresholdsEdit")
        self.thresholds.setClearButtonEnabled(True)
        self.thresholds.setToolTip(
            "At these steps the image is refined until every chosen word reaches the given attention "
            "(0-1). Higher values force the words harder; format STEP:VALUE separated by commas, or 'none', "
            "with STEP counted from 0 as in the paper (0 is the first step; the Schedule line and the "
            "progress bar count from 1). Leave it empty to follow the step count (the paper's 0, 10, 20 of 50 steps).")
        self.threshold_problem = _note("thresholdProblem", "problem")
        self.threshold_note = _note("thresholdNote")
        self.schedule_summary = QLabel(objectName="scheduleSummary", wordWrap=True)  # never widens the panel
        self.schedule_summary.setToolTip("The schedule the next run uses at this step count: excite steps · "
                                         "the steps where words are refined to their thresholds, counted "
                                         "from 1 as the progress bar counts them.")
        self.scale_factor = _double("scaleFactorSpin", 0, 1000, 1, 1, (
            "Step size of each excite update. Larger values move the image more per step: stronger effect, "
            "but too large can distort it or turn it to noise."))
        self.smooth = QCheckBox("Smooth attention maps")
        self.smooth.setObjectName("smoothCheck")
        self.smooth.setToolTip(
            "Blur the attention maps before measuring them, so one bright pixel cannot pretend a word is "
            "present. Usually keeps subjects whole rather than fragmented.")
        self.sigma = _double("sigmaSpin", 0.05, 10, 2, 0.05, (
            "Blur radius of the smoothing; larger values ask for a word to cover a bigger area."))
        self.refinement = _spin("refinementSpin", 0, 200, (
            "Maximum refinement iterations at each threshold step. More iterations reach the thresholds "
            "more often, at the cost of time."))
        self.attn_res = _spin("attnResSpin", 0, 128, (
            "Resolution of the attention maps the loss reads (side length in cells). Auto matches the "
            "image size; the paper's 16 fits 512 px images."))
        self.attn_res.setSpecialValueText("Auto")
        self.defaults = QPushButton("Paper defaults")
        self.defaults.setObjectName("paperDefaultsButton")
        self.defaults.setToolTip("Reset these settings to the values of the Attend-and-Excite paper.")
        self.defaults.clicked.connect(self.reset_to_paper)

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Excite steps", self.max_iter)
        form.addRow("", self.max_iter_note)
        form.addRow("Thresholds", self.thresholds)
        form.addRow("", self.threshold_problem)
        form.addRow("", self.threshold_note)
        form.addRow("Schedule", self.schedule_summary)
        form.addRow("Scale factor", self.scale_factor)
        sigma_row = QHBoxLayout()
        sigma_row.addWidget(self.smooth)
        sigma_row.addWidget(QLabel("σ"))
        sigma_row.addWidget(self.sigma)
        form.addRow(sigma_row)
        form.addRow("Refinement cap", self.refinement)
        form.addRow("Attention res.", self.attn_res)
        form.addRow("", self.defaults)
        for label_field in (self.max_iter, self.thresholds, self.schedule_summary, self.scale_factor,
                            self.refinement, self.attn_res):
            label = form.labelForField(label_field)
            if label is not None:
                label.setToolTip(label_field.toolTip())

        self.set_settings(ExciteSettings())
        self.toggled.connect(self.toggled_on)
        self.toggled.connect(lambda _on: self.changed.emit())
        for spin in (self.max_iter, self.scale_factor, self.sigma, self.refinement, self.attn_res):
            spin.valueChanged.connect(self.changed)
        self.max_iter.valueChanged.connect(self._show_schedule)
        self.smooth.toggled.connect(self.sigma.setEnabled)
        self.smooth.toggled.connect(lambda _on: self.changed.emit())
        self.thresholds.textChanged.connect(self._check_thresholds)

    def set_settings(self, settings: ExciteSettings) -> None:
        self._hidden = settings
        self.setChecked(settings.enabled)
        self.max_iter.set_number(settings.max_iter_to_alter)
        self.thresholds.setText("" if settings.thresholds is None else format_thresholds(settings.thresholds))
        self.scale_factor.setValue(settings.scale_factor)
        self.smooth.setChecked(settings.smooth_attentions)
        self.sigma.setValue(settings.sigma)
        self.sigma.setEnabled(settings.smooth_attentions)
        self.refinement.setValue(settings.max_refinement_steps)
        self.attn_res.setValue(settings.attn_res[0] if settings.attn_res else 0)
        self._show_schedule()

    def settings(self, token_indices: tuple[int, ...] = ()) -> ExciteSettings:
        """Raises InvalidRequest when the thresholds text cannot be read."""
        side = self.attn_res.value()
        return dataclasses.replace(
            self._hidden,
            enabled=self.isChecked(),
            token_indices=tuple(token_indices),
            max_iter_to_alter=self.max_iter.number(),  # None: follows the step count
            thresholds=self._typed_thresholds(),
            scale_factor=self.scale_factor.value(),
            smooth_attentions=self.smooth.isChecked(),
            sigma=self.sigma.value(),
            max_refinement_steps=self.refinement.value(),
            attn_res=(side, side) if side else None,
        )

    @staticmethod
    def field_labels() -> dict[str, str]:
        """Request field -> this group's label for it (error messages name fields as the artist sees them)."""
        return {"excite.max_iter_to_alter": "Excite steps", "excite.thresholds": "Thresholds",
                "excite.scale_factor": "Scale factor", "excite.sigma": "σ",
                "excite.max_refinement_steps": "Refinement cap", "excite.attn_res": "Attention res.",
                "excite.token_indices": "Chosen words"}

    def reset_to_paper(self) -> None:
        """The paper's settings, with the schedule following the step count again."""
        self.set_settings(dataclasses.replace(ExciteSettings(), enabled=self.isChecked()))

    # -- the schedule at the current step count ---------------------------------------------------
    def set_step_count(self, steps: int) -> None:
        self._steps = steps
        self._show_schedule()

    def schedule(self) -> Schedule | None:
        """What a run at the current step count would use; None while the thresholds text is unreadable."""
        try:
            thresholds = self._typed_thresholds()
        except InvalidRequest:
            return None
        return resolve_schedule(self._steps, self.max_iter.number(), thresholds)

    def _typed_thresholds(self) -> tuple[tuple[int, float], ...] | None:
        text = self.thresholds.text()
        return None if not text.strip() else parse_thresholds(text)

    def _show_schedule(self) -> None:
        schedule = self.schedule()
        self.max_iter.set_automatic_value(resolve_schedule(self._steps, None, None).max_iter_to_alter)
        automatic = format_thresholds(automatic_thresholds(self._steps)).replace(",", ", ")
        self.thresholds.setPlaceholderText(f"Auto: {automatic}")
        # Notes also name the step count: the Steps box sits in the Image group above.
        labels = {**self.field_labels(), "steps": "Steps"}
        notes = {note.field: worded(note, labels) for note in (schedule.notes if schedule else ())}
        for label, key in ((self.max_iter_note, "excite.max_iter_to_alter"), (self.threshold_note, "excite.thresholds")):
            label.setText(notes.get(key, ""))
            label.setVisible(key in notes)
        if schedule is not None:
            self.schedule_summary.setText(schedule.summary())

    def _check_thresholds(self, text: str) -> None:
        try:
            self._typed_thresholds()
        except InvalidRequest as exc:
            self.threshold_problem.setText(exc.message_for(self.field_labels()))
            self.threshold_problem.show()
        except ValueError as exc:
            self.threshold_problem.setText(str(exc))
            self.threshold_problem.show()
        else:
            self.threshold_problem.hide()
        self._show_schedule()
        self.changed.emit()


def _note(name: str, role: str = "note") -> QLabel:
    """A line under a field: 'problem' (red) when the text cannot be used, 'note' when a value is adapted."""
    label = QLabel(objectName=name, wordWrap=True)
    label.setProperty("role", role)
    label.hide()
    return label


def _spin(name: str, low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setToolTip(tip)
    return spin


def _double(name: str, low: float, high: float, decimals: int, step: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setToolTip(tip)
    return spin
