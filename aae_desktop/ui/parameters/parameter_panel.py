"""The right-hand parameter panel: seed, steps, guidance, size, scheduler, batch, Attend-and-Excite."""
from __future__ import annotations

import random
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.models.families import DEFAULT_FAMILY, ModelFamily, get_family
from aae_desktop.engine.request import MAX_CLIP_SKIP, SCHEDULER_LABELS, GenerationRequest, eta_default
from aae_desktop.ui.parameters.eta_spin import EtaSpinBox
from aae_desktop.ui.parameters.bind_panel import BindPanel
from aae_desktop.ui.parameters.box_panel import BoxPanel
from aae_desktop.ui.parameters.excite_panel import ExcitePanel
from aae_desktop.ui.parameters.family_switch import switch_values
from aae_desktop.ui.parameters.seed_spin import SeedSpinBox
from aae_desktop.ui.parameters.restore_changes import changed_values

# QSpinBox holds a C int; 2^31-1 is also what most SD tools use for random seeds.
MAX_SEED = 2**31 - 1
SEED_MODES = {
    "random": "New random seed each run",
    "locked": "Locked (repeat this seed)",
    "increment": "Increment after each run",
}
CUSTOM_SIZE = "Custom"


@dataclass(frozen=True)
class BaseParameters:
    """The non-excite part of a request, as the panel shows it."""

    seed: int
    num_images: int
    steps: int
    guidance_scale: float
    width: int
    height: int
    scheduler: str
    clip_skip: int = 1
    eta: float | None = None  # None: the sampler's own default


class ParameterPanel(QWidget):
    changed = Signal()
    seed_locked = Signal()  # a seed chosen in "random" mode switched the mode to "locked"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("parameterPanel")

        self.seed = SeedSpinBox()
        self.seed.setObjectName("seedSpin")
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip(
            "The starting noise. The same seed with the same settings gives the same image; "
            "a different seed gives a different composition.")
        self.seed_mode = QComboBox()
        self.seed_mode.setObjectName("seedModeCombo")
        for key, label in SEED_MODES.items():
            self.seed_mode.addItem(label, key)
        self.seed_mode.setToolTip(
            "Random: every run explores a new composition. Locked: re-run the same composition while you "
            "tweak words or settings. Increment: step through neighbouring seeds run after run.")
        dice = QToolButton(text="New")
        dice.setObjectName("randomSeedButton")
        dice.setToolTip("Pick a new random seed now (a new composition).")
        dice.clicked.connect(self.randomize_seed)
        self.seed.chosen.connect(self._seed_chosen)

        self.steps = QSpinBox()
        self.steps.setObjectName("stepsSpin")
        self.steps.setRange(1, 500)
        self.steps.setToolTip(
            "Denoising steps. More steps add detail and clean up noise but take longer; 30-50 is typical.")
        self.guidance = QDoubleSpinBox()
        self.guidance.setObjectName("guidanceSpin")
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setDecimals(1)
        self.size_preset = QComboBox()
        self.size_preset.setObjectName("sizePresetCombo")
        # The loaded model's family: its size presets and defaults (SD 1.x until a model says otherwise).
        self.family: ModelFamily = get_family(DEFAULT_FAMILY)
        self._fill_presets()
        self.family_note = QLabel()
        self.family_note.setObjectName("familyNote")
        self.family_note.setProperty("role", "note")
        self.family_note.setWordWrap(True)
        self.family_note.hide()
        self.width = self._size_spin("widthSpin", "Image width in pixels (a multiple of 8). Wider frames suit landscapes.")
        self.height = self._size_spin("heightSpin", "Image height in pixels (a multiple of 8). Taller frames suit portraits.")
        self.size_problem = QLabel()
        self.size_problem.setObjectName("sizeProblem")
        self.size_problem.setProperty("role", "problem")
        self.size_problem.setWordWrap(True)
        self.size_problem.hide()
        self.scheduler = QComboBox()
        self.scheduler.setObjectName("schedulerCombo")
        for key, label in SCHEDULER_LABELS.items():
            self.scheduler.addItem(label, key)
        self.scheduler.setToolTip(
            "The sampler that removes noise step by step. They differ in texture and in how many steps "
            "they need; DPM++ 2M Karras looks finished in fewer steps.")
        self.clip_skip = QSpinBox()
        self.clip_skip.setObjectName("clipSkipSpin")
        self.clip_skip.setRange(1, MAX_CLIP_SKIP)
        self.clip_skip.setToolTip(
            "Which text-encoder layer describes the prompt, counted from the end as in A1111: 1 = the last "
            "(normal); 2 = the one before it, which many anime and illustration fine-tunes are made for. "
            "SDXL models always read the one before the last, so 1 and 2 give the same image there.")
        self.eta = EtaSpinBox()
        self.eta.setObjectName("etaSpin")
        self.num_images = QSpinBox()
        self.num_images.setObjectName("numImagesSpin")
        self.num_images.setRange(1, 16)
        self.num_images.setToolTip("How many images to make per run; image i uses seed + i.")
        self.excite = ExcitePanel()
        self.bind = BindPanel()
        self.boxes = BoxPanel()

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height)
        image_box = QGroupBox("Image")
        form = QFormLayout(image_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.family_note)
        form.addRow("Seed", seed_row)
        form.addRow("", self.seed_mode)
        form.addRow("Size", self.size_preset)
        form.addRow("", size_row)
        form.addRow("", self.size_problem)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Sampler", self.scheduler)
        form.addRow("Eta", self.eta)
        form.addRow("Clip skip", self.clip_skip)
        form.addRow("Images", self.num_images)
        self._form = form
        self._copy_tooltips_to_labels()
        self._model_sampler = ""  # the loaded model's own scheduler class (what "Model default" runs)
        self.scheduler.currentIndexChanged.connect(self._update_eta)
        self._update_eta()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(image_box)
        layout.addWidget(self.excite)
        layout.addWidget(self.bind)
        layout.addWidget(self.boxes)
        layout.addStretch(1)

        self.steps.valueChanged.connect(self.excite.set_step_count)
        self.steps.valueChanged.connect(self.bind.set_step_count)
        self.steps.valueChanged.connect(self.boxes.set_step_count)
        self.set_base(BaseParameters(0, 1, 50, self.family.default_guidance, self.family.default_width,
                                     self.family.default_height, "default"))
        self.size_preset.activated.connect(self._on_preset)
        # The note explains values the last model switch set; once the artist changes them it is stale.
        for signal in (self.width.valueChanged, self.height.valueChanged, self.guidance.valueChanged):
            signal.connect(self.family_note.hide)
        for spin in (self.width, self.height):
            spin.valueChanged.connect(self._on_size_edited)
        for signal in (self.seed.valueChanged, self.steps.valueChanged, self.guidance.valueChanged,
                       self.num_images.valueChanged, self.scheduler.currentIndexChanged, self.excite.changed,
                       self.bind.changed, self.boxes.changed,
                       self.clip_skip.valueChanged, self.eta.valueChanged):
            signal.connect(self.changed)

    # -- reading -------------------------------------------------------------------------------
    def base(self) -> BaseParameters:
        return BaseParameters(
            seed=self.seed.value(),
            num_images=self.num_images.value(),
            steps=self.steps.value(),
            guidance_scale=round(self.guidance.value(), 2),
            width=self.width.value(),
            height=self.height.value(),
            scheduler=self.scheduler.currentData(),
            clip_skip=self.clip_skip.value(),
            # A sampler that ignores eta gets none, so the request says what shaped the image.
            eta=self.eta.eta() if self.eta.isEnabled() else None,
        )

    def field_labels(self) -> dict[str, str]:
        """Request field -> the label the artist sees, for error messages (InvalidRequest.message_for)."""
        return {"seed": "Seed", "num_images": "Images", "steps": "Steps", "guidance_scale": "Guidance",
                "width": "Width", "height": "Height", "size": "Size", "scheduler": "Sampler", "clip_skip": "Clip skip",
                "eta": "Eta",
                **self.excite.field_labels(), **self.bind.field_labels(),
                **self.boxes.field_labels()}

    def seed_mode_key(self) -> str:
        return self.seed_mode.currentData()

    # -- writing -------------------------------------------------------------------------------
    def set_base(self, p: BaseParameters) -> None:
        self.seed.setValue(min(max(p.seed, 0), MAX_SEED))
        self.num_images.setValue(p.num_images)
        self.steps.setValue(p.steps)
        self.guidance.setValue(p.guidance_scale)
        self.width.setValue(p.width)
        self.height.setValue(p.height)
        index = self.scheduler.findData(p.scheduler)
        self.scheduler.setCurrentIndex(max(index, 0))
        self.clip_skip.setValue(p.clip_skip)
        self.eta.set_eta(p.eta)
        self._update_eta()
        self._on_size_edited()

    def apply_request(self, request: GenerationRequest, seed_known: bool = True) -> list[str]:
        """Show `request`'s values; return what the boxes could not hold ("Steps 800 became 500").
        Without `seed_known` (the image had no usable seed) the box shows a newly drawn seed, not the
        request's placeholder 0 (the window switches to a new random seed each run)."""
        seed = request.seed if seed_known else random.randint(0, MAX_SEED)
        self.set_base(BaseParameters(seed, request.num_images, request.steps, request.guidance_scale,
                                     request.width, request.height, request.scheduler, request.clip_skip,
                                     request.eta))
        self.excite.set_settings(request.excite)
        self.bind.set_settings(request.bind)
        self.boxes.set_settings(request.boxes)
        try:
            excite = self.excite.settings()
        except InvalidRequest:  # thresholds text the box cannot read back: the run will say so
            excite = request.excite
        return changed_values(request, self.base(), excite, self.field_labels(), seed_known)

    def set_model_sampler(self, class_name: str) -> None:
        """The loaded model's own scheduler class: whether "Model default" uses eta depends on it."""
        self._model_sampler = class_name or ""
        self._update_eta()

    def _update_eta(self, *_args) -> None:
        default = eta_default(self.scheduler.currentData() or "default", self._model_sampler)
        self.eta.set_sampler_default(default)

    def focus_field(self, field: str | None) -> bool:
        """Put the keyboard focus on the widget of a request field (after a message about it)."""
        widgets = {
            "seed": self.seed, "num_images": self.num_images, "steps": self.steps, "guidance_scale": self.guidance,
            "width": self.width, "height": self.height, "scheduler": self.scheduler,
            "clip_skip": self.clip_skip, "eta": self.eta,
            "size": self.width, "excite.max_iter_to_alter": self.excite.max_iter,
            "excite.thresholds": self.excite.thresholds, "excite.scale_factor": self.excite.scale_factor,
            "excite.sigma": self.excite.sigma, "excite.max_refinement_steps": self.excite.refinement,
            "excite.attn_res": self.excite.attn_res, "bind": self.bind.scale_spin, "boxes": self.boxes.scale_spin,
        }
        widget = widgets.get(field or "")
        if widget is None or not widget.isEnabled():
            return False
        widget.setFocus()
        return True

    def set_seed_mode(self, key: str) -> None:
        index = self.seed_mode.findData(key)
        if index >= 0:
            self.seed_mode.setCurrentIndex(index)

    def randomize_seed(self) -> None:
        self.seed.setValue(random.randint(0, MAX_SEED))

    def seed_for_next_run(self) -> int:
        """The seed a Generate click uses: 'random' mode draws a new one, which the box shows once the
        run is sent (show_seed_used), so a Generate that is refused leaves the box as it was."""
        if self.seed_mode_key() == "random":
            return random.randint(0, MAX_SEED)
        return self.seed.value()

    def show_seed_used(self, seed: int) -> None:
        """A run was sent with `seed`: 'random' mode shows it (the artist can lock it from there)."""
        if self.seed_mode_key() == "random":
            self.seed.setValue(min(seed, MAX_SEED))

    def run_submitted(self, request: GenerationRequest) -> None:
        """'random' mode shows the seed drawn for this run; 'increment' mode moves past every seed this
        batch used, so no image repeats."""
        self.show_seed_used(request.seed)
        if self.seed_mode_key() == "increment":
            self.seed.setValue(min(request.seed + request.num_images, MAX_SEED))

    def _seed_chosen(self, _seed: int) -> None:
        # A seed typed in "random" mode would be replaced by a draw at Generate: typing it means "use this one".
        if self.seed_mode_key() == "random":
            self.set_seed_mode("locked")
            self.seed_locked.emit()

    # -- model family ------------------------------------------------------------------------------
    def set_family(self, family: ModelFamily, follow_defaults: bool = True) -> str:
        """A model of `family` is loaded: its size presets, and (see family_switch) its default size and
        guidance where the values were still the previous family's. Returns the note shown ("" if none)."""
        previous, self.family = self.family, family
        switch = switch_values(previous, family, self.width.value(), self.height.value(), self.guidance.value())
        self._fill_presets()
        if follow_defaults:
            self.width.setValue(switch.width)
            self.height.setValue(switch.height)
            self.guidance.setValue(switch.guidance)
        self._on_size_edited()
        note = switch.note if follow_defaults else ""
        self.family_note.setText(note)
        self.family_note.setVisible(bool(note))
        return note

    def _fill_presets(self) -> None:
        self.size_preset.clear()
        for preset in self.family.size_presets:
            self.size_preset.addItem(preset.label, _size_key(preset.width, preset.height))
        self.size_preset.addItem(CUSTOM_SIZE, None)
        native = f"{self.family.default_width} × {self.family.default_height}"
        self.size_preset.setToolTip(
            f"Sizes {self.family.label} models were trained for. A model draws best near its own size "
            f"({native} here); far larger sizes tend to repeat subjects, far smaller ones lose detail.")
        self.guidance.setToolTip(
            "How strictly the image follows the prompt (classifier-free guidance). Low: looser and more "
            f"natural; high: literal and saturated. {self.family.default_guidance:g} is typical for "
            f"{self.family.label} models.")
        self._copy_tooltips_to_labels()

    def _copy_tooltips_to_labels(self) -> None:
        form = getattr(self, "_form", None)  # None while the panel is being built
        if form is None:
            return
        for widget in (self.seed_mode, self.size_preset, self.steps, self.guidance, self.scheduler, self.num_images):
            label = form.labelForField(widget)
            if label is not None:
                label.setToolTip(widget.toolTip())

    # -- size -----------------------------------------------------------------------------------
    def _size_spin(self, name: str, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(64, 2048)
        spin.setSingleStep(64)
        spin.setSuffix(" px")
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def _on_preset(self, index: int) -> None:
        key = self.size_preset.itemData(index)
        if key:
            w, h = (int(v) for v in key.split("x"))
            self.width.setValue(w)
            self.height.setValue(h)

    def _on_size_edited(self, *_args) -> None:
        w, h = self.width.value(), self.height.value()
        index = self.size_preset.findData(_size_key(w, h))
        self.size_preset.setCurrentIndex(index if index >= 0 else self.size_preset.count() - 1)
        problems = [
            f"{name} {value} is not a multiple of 8: use {value // 8 * 8} or {value // 8 * 8 + 8}."
            for name, value in (("Width", w), ("Height", h)) if value % 8
        ]
        self.size_problem.setText(" ".join(problems))
        self.size_problem.setVisible(bool(problems))
        self.changed.emit()


def _size_key(width: int, height: int) -> str:
    # A string, because tuples come back from QVariant as lists and findData() would miss them.
    return f"{width}x{height}"
