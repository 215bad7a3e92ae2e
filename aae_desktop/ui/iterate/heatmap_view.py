"""Attention heat maps of one result: each excited word's map over the image, one at a time or side
by side, plus the loss curve per word. Works for fresh results and for gallery images (sidecar)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from aae_desktop.engine.events import ImageResult
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.heatmaps import WordMap, loss_curves, overlay, word_maps
from aae_desktop.gallery.metadata import read_request
from aae_desktop.gallery.sidecar import AttentionData, load_attention
from aae_desktop.ui.fit_image import FitImage
from aae_desktop.ui.image_convert import pil_to_qimage
from aae_desktop.ui.iterate.loss_curve import LossCurveWidget

SIDE_BY_SIDE = "All words side by side"
CELL_SIZE = 192


class HeatmapView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("heatmapView")
        self.image: Image.Image | None = None
        self.words: list[WordMap] = []
        self.word_combo = QComboBox(objectName="heatmapWord")
        self.word_combo.currentIndexChanged.connect(lambda _i: self._render())
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="heatmapOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.valueChanged.connect(lambda _v: self._render())
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Word:"))
        controls.addWidget(self.word_combo, 1)
        controls.addWidget(QLabel("Opacity:"))
        controls.addWidget(self.opacity)
        self.message = QLabel(objectName="heatmapMessage", wordWrap=True)
        self.cells = QWidget()
        self.cells_layout = QGridLayout(self.cells)
        self.curve = LossCurveWidget(self)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.cells, 1)
        layout.addWidget(self.curve)
        self.show_message("Generate an image or choose one in the gallery to see where each word attends.")

    # -- input ----------------------------------------------------------------------------------
    def show_result(self, result: ImageResult, tokenizer: Any | None = None) -> None:
        self.set_data(result.image, result.request, AttentionData(result.attention_maps, result.loss_history), tokenizer)

    def show_file(self, path: str | Path, tokenizer: Any | None = None) -> None:
        """A gallery image: its maps come from the sidecar saved next to it."""
        path = Path(path)
        try:
            request = read_request(path)
            with Image.open(path) as img:
                image = img.convert("RGB")
        except (OSError, ValueError) as exc:
            self.show_message(f"{path.name} could not be read: {exc}")
            return
        if request is None:
            self.show_message(f"{path.name} carries no Attend-and-Excite settings, so it has no heat maps.")
            return
        self.set_data(image, request, load_attention(path), tokenizer)

    def set_data(self, image: Image.Image, request: GenerationRequest, data: AttentionData,
                 tokenizer: Any | None = None) -> None:
        self.image = image
        self.words = word_maps(request, data.maps, tokenizer)
        self.word_combo.blockSignals(True)
        self.word_combo.clear()
        if len(self.words) > 1:
            self.word_combo.addItem(SIDE_BY_SIDE)
        self.word_combo.addItems([w.label for w in self.words])
        self.word_combo.blockSignals(False)
        self.curve.set_curves(loss_curves(data.loss_history, self.words))
        if not self.words:
            self.show_message("No attention maps for this image (made without Attend-and-Excite, "
                              "or saved before maps were kept).")
            return
        self.message.setText("")
        self._render()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self._clear_cells()

    # -- drawing --------------------------------------------------------------------------------
    def selected_words(self) -> list[WordMap]:
        choice = self.word_combo.currentText()
        if choice == SIDE_BY_SIDE:
            return list(self.words)
        return [w for w in self.words if w.label == choice][:1]

    def _clear_cells(self) -> None:
        while self.cells_layout.count():
            item = self.cells_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()

    def _render(self) -> None:
        self._clear_cells()
        if self.image is None:
            return
        words = self.selected_words()
        size = CELL_SIZE if len(words) > 1 else CELL_SIZE * 2
        for col, word in enumerate(words):
            picture = overlay(self.image, word.attention, self.opacity.value() / 100)
            # Scales with the panel instead of fixing its height, so the preview keeps its room.
            cell = FitImage("heatmapCell")
            cell.setMaximumSize(size * 2, size * 2)
            cell.set_image(pil_to_qimage(picture))
            caption = QLabel(word.label, alignment=Qt.AlignmentFlag.AlignCenter)
            self.cells_layout.addWidget(cell, 0, col)
            self.cells_layout.addWidget(caption, 1, col)
