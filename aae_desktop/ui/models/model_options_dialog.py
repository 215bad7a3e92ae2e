"""Device, precision and memory options for loading a model, with a one-line warning when it runs on the CPU."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.models import LoadOptions

DEVICE_LABELS = {
    "auto": "Automatic (best available)",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU (MPS)",
    "cpu": "CPU",
}
PRECISION_LABELS = {
    "auto": "Automatic (fp16 on CUDA, fp32 elsewhere)",
    "fp16": "fp16 (half: fast, least memory)",
    "bf16": "bf16 (half, wider range)",
    "fp32": "fp32 (full: slowest, most memory)",
}
CPU_WARNING = "Runs on the CPU: a 512 px image takes minutes rather than seconds."


def available_devices() -> dict[str, bool]:
    """Which devices this PyTorch can use (auto and CPU always)."""
    try:
        import torch

        cuda = torch.cuda.is_available()
        mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    except Exception:  # a broken torch install: offer CPU only, the load will say what is wrong
        cuda = mps = False
    return {"auto": True, "cuda": cuda, "mps": mps, "cpu": True}


def effective_device(choice: str, available: dict[str, bool]) -> str:
    if choice == "auto":
        return "cuda" if available.get("cuda") else "mps" if available.get("mps") else "cpu"
    return choice


class ModelOptionsDialog(QDialog):
    """Edits a LoadOptions; `options()` gives the result (family/config_dir are kept as they were)."""

    def __init__(self, options: LoadOptions, parent: QWidget | None = None,
                 available: dict[str, bool] | None = None):
        super().__init__(parent)
        self.setObjectName("modelOptionsDialog")
        self.setWindowTitle("Device and memory")
        self._base = options
        self._available = available if available is not None else available_devices()

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setToolTip("Where the model runs. Automatic picks a GPU when there is one.")
        for key, label in DEVICE_LABELS.items():
            usable = self._available.get(key, False)
            self.device_combo.addItem(label if usable else f"{label}: not available", key)
            if not usable:
                self.device_combo.model().item(self.device_combo.count() - 1).setEnabled(False)
        self.precision_combo = QComboBox()
        self.precision_combo.setObjectName("precisionCombo")
        self.precision_combo.setToolTip("Number format of the weights. Half precision needs half the memory.")
        for key, label in PRECISION_LABELS.items():
            self.precision_combo.addItem(label, key)
        self.vae_slicing = QCheckBox("VAE slicing (decode images one at a time)")
        self.vae_slicing.setToolTip("Less memory when several images are decoded; same pixels.")
        self.vae_tiling = QCheckBox("VAE tiling (decode large images in tiles)")
        self.vae_tiling.setToolTip("Lets big images decode in little memory; tile seams may show faintly.")
        self.cpu_offload = QCheckBox("Model CPU offload (keep only the active part on the GPU)")
        self.cpu_offload.setToolTip("Much less GPU memory, somewhat slower. Only used with a GPU.")
        self.cpu_warning = QLabel(CPU_WARNING)
        self.cpu_warning.setObjectName("cpuWarning")
        self.cpu_warning.setWordWrap(True)
        self.cpu_warning.setStyleSheet("color: #b36b00;")

        self._select(self.device_combo, options.device)
        self._select(self.precision_combo, options.precision)
        self.vae_slicing.setChecked(options.vae_slicing)
        self.vae_tiling.setChecked(options.vae_tiling)
        self.cpu_offload.setChecked(options.cpu_offload)

        form = QFormLayout()
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Memory", self.vae_slicing)
        form.addRow("", self.vae_tiling)
        form.addRow("", self.cpu_offload)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.cpu_warning)
        layout.addWidget(QLabel("Changes apply when the model is next loaded (now, if one is loaded)."))
        layout.addWidget(buttons)
        self.device_combo.currentIndexChanged.connect(self._update_warning)
        self._update_warning()

    def options(self) -> LoadOptions:
        return replace(
            self._base,
            device=self.device_combo.currentData(),
            precision=self.precision_combo.currentData(),
            vae_slicing=self.vae_slicing.isChecked(),
            vae_tiling=self.vae_tiling.isChecked(),
            cpu_offload=self.cpu_offload.isChecked(),
        )

    def _update_warning(self) -> None:
        on_cpu = effective_device(self.device_combo.currentData(), self._available) == "cpu"
        self.cpu_warning.setVisible(on_cpu)
        self.cpu_offload.setEnabled(not on_cpu)

    @staticmethod
    def _select(combo: QComboBox, key: str) -> None:
        index = combo.findData(key)
        item = combo.model().item(index) if index >= 0 else None
        combo.setCurrentIndex(index if item is not None and item.isEnabled() else 0)
