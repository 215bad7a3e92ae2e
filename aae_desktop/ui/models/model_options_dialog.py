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

from aae_desktop.engine.models.loading import LoadOptions

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
def cpu_warning(side_px: int = 512) -> str:
    """The CPU note for a model that draws `side_px` images (its family's own size)."""
    return f"Runs on the CPU: a {side_px} px image takes minutes rather than seconds."


CPU_WARNING = cpu_warning()
OFFLOAD_TIPS = {
    "cuda": "Much less GPU memory, somewhat slower: model parts wait in the computer's memory until used.",
    "mps": "Not used on the Apple GPU: it shares the computer's memory, so offloading would free nothing.",
    "cpu": "Only for an NVIDIA GPU: on the CPU there is nowhere to offload to.",
}


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
        # No VAE slicing here: it splits a batch, and images are decoded one at a time anyway.
        self.vae_tiling = QCheckBox("VAE tiling (decode large images in tiles)")
        self.vae_tiling.setObjectName("vaeTiling")
        self.vae_tiling.setToolTip("Decoding is the memory peak of a large image: tiles keep it small. "
                                   "Recommended above about 1024 px on 8 GB GPUs; seams may show faintly.")
        self.attention_slicing = QCheckBox("Attention slicing (less memory, slower)")
        self.attention_slicing.setObjectName("attentionSlicing")
        self.attention_slicing.setToolTip("Computes attention a slice at a time: recommended on Macs with 8-16 GB. "
                                          "Same image; Attend-and-Excite still reads every word's attention.")
        self.cpu_offload = QCheckBox("Model CPU offload (keep only the active part on the GPU)")
        self.cpu_offload.setObjectName("cpuOffload")
        self.device_note = QLabel()
        self.device_note.setObjectName("deviceNote")
        self.device_note.setWordWrap(True)
        self.device_note.setStyleSheet("color: #b36b00;")
        self.cpu_warning = QLabel(CPU_WARNING)
        self.cpu_warning.setObjectName("cpuWarning")
        self.cpu_warning.setWordWrap(True)
        self.cpu_warning.setStyleSheet("color: #b36b00;")

        self._select(self.device_combo, options.device)
        self._select(self.precision_combo, options.precision)
        self.vae_tiling.setChecked(options.vae_tiling)
        self.attention_slicing.setChecked(options.attention_slicing)
        self.cpu_offload.setChecked(options.cpu_offload)

        form = QFormLayout()
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Memory", self.vae_tiling)
        form.addRow("", self.attention_slicing)
        form.addRow("", self.cpu_offload)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.cpu_warning)
        layout.addWidget(self.device_note)
        layout.addWidget(QLabel("Changes apply when the model is next loaded (now, if one is loaded)."))
        layout.addWidget(buttons)
        self.device_combo.currentIndexChanged.connect(self._update_warning)
        self.precision_combo.currentIndexChanged.connect(self._update_warning)
        self._update_warning()

    def options(self) -> LoadOptions:
        return replace(
            self._base,
            device=self.device_combo.currentData(),
            precision=self.precision_combo.currentData(),
            vae_tiling=self.vae_tiling.isChecked(),
            attention_slicing=self.attention_slicing.isChecked(),
            cpu_offload=self.cpu_offload.isChecked() and self.cpu_offload.isEnabled(),
        )

    def _update_warning(self) -> None:
        device = effective_device(self.device_combo.currentData(), self._available)
        self.cpu_warning.setVisible(device == "cpu")
        # Offload moves model parts to the computer's memory: only a discrete GPU gains from that.
        self.cpu_offload.setEnabled(device == "cuda")
        self.cpu_offload.setToolTip(OFFLOAD_TIPS[device])
        note = ""
        if device == "cpu" and self.precision_combo.currentData() == "fp16":
            note = "fp16 runs about 3x slower than fp32 on the CPU, so the model will run in fp32 (same image)."
        elif device == "mps" and self.precision_combo.currentData() == "bf16":
            note = "bf16 on the Apple GPU needs macOS 14 or newer."
        self.device_note.setText(note)
        self.device_note.setVisible(bool(note))

    @staticmethod
    def _select(combo: QComboBox, key: str) -> None:
        index = combo.findData(key)
        item = combo.model().item(index) if index >= 0 else None
        combo.setCurrentIndex(index if item is not None and item.isEnabled() else 0)
