"""Shows what the loaded model is: family, precision, device, size on disk and where it came from."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget


class ModelInfoDialog(QDialog):
    """`rows` is an ordered {label: value}; values are selectable so paths can be copied."""

    def __init__(self, rows: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelInfoDialog")
        self.setWindowTitle("Model information")
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for label, value in rows.items():
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setWordWrap(True)
            self.values[label] = field
            form.addRow(label, field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
