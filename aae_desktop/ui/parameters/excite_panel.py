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

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import ExciteSettings, format_thresholds, parse_thresholds


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

        self.max_iter = _spin("maxIterSpin", 0, 1000, (
            "How many of the first denoising steps get excited. The layout of the image is decided early; "
            "more steps enforce the words longer but can over-bake the picture."))
        self.thresholds = QLineEdit()
        self.thresholds.setObjectName("thresholdsEdit")
        self.thresholds.setPlaceholderText("step:value, e.g. 0:0.05,10:0.5,20:0.8")
        self.thresholds.setToolTip(
            "At these steps the image is refined until every chosen word reaches the given attention "
            "(0-1). Higher values force the words harder; format STEP:VALUE separated by commas.")
        self.threshold_problem = QLabel()
        self.threshold_problem.setObjectName("thresholdProblem")
        self.threshold_problem.setWordWrap(True)
        self.threshold_problem.setProperty("role", "problem")
        self.threshold_problem.hide()
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
        form.addRow("Thresholds", self.thresholds)
        form.addRow("", self.threshold_problem)
        form.addRow("Scale factor", self.scale_factor)
        sigma_row = QHBoxLayout()
        sigma_row.addWidget(self.smooth)
        sigma_row.addWidget(QLabel("σ"))
        sigma_row.addWidget(self.sigma)
        form.addRow(sigma_row)
        form.addRow("Refinement cap", self.refinement)
        form.addRow("Attention res.", self.attn_res)
        form.addRow("", self.defaults)
        for label_field in (self.max_iter, self.thresholds, self.scale_factor, self.refinement, self.attn_res):
            label = form.labelForField(label_field)
            if label is not None:
                label.setToolTip(label_field.toolTip())

        self.set_settings(ExciteSettings())
        self.toggled.connect(self.toggled_on)
        self.toggled.connect(lambda _on: self.changed.emit())
        for spin in (self.max_iter, self.scale_factor, self.sigma, self.refinement, self.attn_res):
            spin.valueChanged.connect(self.changed)
        self.smooth.toggled.connect(self.sigma.setEnabled)
        self.smooth.toggled.connect(lambda _on: self.changed.emit())
        self.thresholds.textChanged.connect(self._check_thresholds)

    def set_settings(self, settings: ExciteSettings) -> None:
        self._hidden = settings
        self.setChecked(settings.enabled)
        self.max_iter.setValue(settings.max_iter_to_alter)
        self.thresholds.setText(format_thresholds(settings.thresholds))
        self.scale_factor.setValue(settings.scale_factor)
        self.smooth.setChecked(settings.smooth_attentions)
        self.sigma.setValue(settings.sigma)
        self.sigma.setEnabled(settings.smooth_attentions)
        self.refinement.setValue(settings.max_refinement_steps)
        self.attn_res.setValue(settings.attn_res[0] if settings.attn_res else 0)

    def settings(self, token_indices: tuple[int, ...] = ()) -> ExciteSettings:
        """Raises InvalidRequest when the thresholds text cannot be read."""
        side = self.attn_res.value()
        return dataclasses.replace(
            self._hidden,
            enabled=self.isChecked(),
            token_indices=tuple(token_indices),
            max_iter_to_alter=self.max_iter.value(),
            thresholds=parse_thresholds(self.thresholds.text()),
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
        self.set_settings(dataclasses.replace(ExciteSettings(), enabled=self.isChecked()))

    def _check_thresholds(self, text: str) -> None:
        try:
            parse_thresholds(text)
        except InvalidRequest as exc:
            self.threshold_problem.setText(exc.message_for(self.field_labels()))
            self.threshold_problem.show()
        except ValueError as exc:
            self.threshold_problem.setText(str(exc))
            self.threshold_problem.show()
        else:
            self.threshold_problem.hide()
        self.changed.emit()


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
