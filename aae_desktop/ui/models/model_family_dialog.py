"""Asks once per file whether an SD 2.x checkpoint is the 512 px (epsilon) or the 768 px (v-prediction) kind."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QRadioButton, QVBoxLayout, QWidget

from aae_desktop.engine.models.families import family_label


class FamilyDialog(QDialog):
    """`family()` is "sd2" or "sd2v" after accept(); the caller remembers it for the file."""

    def __init__(self, path: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("familyDialog")
        self.setWindowTitle("Which Stable Diffusion 2 model is this?")
        text = QLabel(
            f"<b>{Path(path).name}</b> is a Stable Diffusion 2.x model. Its file does not say which kind, "
            "and the wrong choice gives noise or grey images. The model's download page usually says "
            "\"768\" / \"v-prediction\" or \"512\" / \"base\". The answer is remembered for this file."
        )
        text.setWordWrap(True)
        self.eps_button = QRadioButton(family_label("sd2") + ": e.g. stable-diffusion-2-1-base")
        self.eps_button.setObjectName("familySd2")
        self.v_button = QRadioButton(family_label("sd2v") + ": e.g. stable-diffusion-2-1")
        self.v_button.setObjectName("familySd2v")
        self.eps_button.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (text, self.eps_button, self.v_button, buttons):
            layout.addWidget(widget)

    def family(self) -> str:
        return "sd2v" if self.v_button.isChecked() else "sd2"
