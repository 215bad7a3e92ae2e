"""Attention heat maps of one result: each excited word's map over the image, one at a time or all of
them, filling the panel, plus the loss curve per word; with binding, each bound modifier's map beside
its noun's and how much they overlap. Works for fresh results and for gallery images (sidecar)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget

from aae_desktop.engine.events import ImageResult
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.bound_pairs import BoundPair, bound_pairs, map_overlap, pair_picture
from aae_desktop.gallery.heatmaps import WordMap, loss_curves, overlay, word_maps, word_peaks
from aae_desktop.gallery.metadata import read_request
from aae_desktop.gallery.sidecar import AttentionData, load_attention
from aae_desktop.ui.image_convert import pil_to_qimage
from aae_desktop.ui.iterate.heatmap_canvas import HeatmapCanvas
from aae_desktop.ui.iterate.loss_curve import LossCurveWidget
from aae_desktop.ui.prompt.word_boxes import box_colour

SIDE_BY_SIDE = "All words side by side"
PAIRS = "All bound pairs"


class HeatmapView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("heatmapView")
        self.image: Image.Image | None = None
        self.words: list[WordMap] = []
        self.peaks: dict[str, float] = {}
        self.maps: dict[int, Any] = {}
        self.pairs: list[tuple[BoundPair, float]] = []  # with their maps' overlap
        self.boxes: tuple = ()  # placed words (token indices, box): drawn over their maps
        self.word_combo = QComboBox(objectName="heatmapWord")
        self.word_combo.setToolTip("Show every chosen word's map, or one word's map large; with binding, "
                                   "each bound modifier's map beside its noun's.")
        # Long pair names must not widen the window (it has to fit a laptop screen).
        self.word_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.word_combo.setMinimumContentsLength(12)
        self.word_combo.currentIndexChanged.connect(lambda _i: self._render())
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="heatmapOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("How strongly the heat map covers the image (0: only the image).")
        self.opacity.valueChanged.connect(lambda _v: self._render())
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Word:"))
        controls.addWidget(self.word_combo, 1)
        controls.addWidget(QLabel("Opacity:"))
        controls.addWidget(self.opacity)
        self.message = QLabel(objectName="heatmapMessage", wordWrap=True)
        self.canvas = HeatmapCanvas()
        self.canvas.setToolTip("Where each chosen word attends in the last excited step: bright = strong. "
                               "The number is the word's peak attention (0-1) as the loss measures it "
                               "(smoothed), the number the readout under the preview ends on. A bound pair "
                               "shows the modifier's map (left) beside its noun's (right); their overlap is "
                               "the share of attention in the same place (1 = same place, 0 = apart).")
        self.curve = LossCurveWidget(self)
        # Side by side: the panel under the preview is wide and short, so the maps take the height.
        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="heatmapSplitter")
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(self.curve)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
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
        self.maps = data.maps
        self.boxes = request.boxes.boxes if request.boxes.enabled else ()
        self.words = word_maps(request, data.maps, tokenizer)
        self.peaks = word_peaks(self.words, data.loss_history)
        # A pair whose words have no maps (saved before bound words' maps were kept) is left out.
        self.pairs = [(pair, overlap) for pair in bound_pairs(request, tokenizer)
                      if (overlap := map_overlap(data.maps, pair.modifier_tokens, pair.noun_tokens)) is not None]
        self._fill_combo()
        self.curve.set_curves(loss_curves(data.loss_history, self.words))
        if not self.words:
            self.show_message("No attention maps for this image (made without Attend-and-Excite, "
                              "or saved before maps were kept).")
            return
        self.message.setText("")
        self.message.hide()
        self._render()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.canvas.clear()

    def _fill_combo(self) -> None:
        """Bound pairs first (a bound run is shown to judge its binding), then the words as before."""
        combo = self.word_combo
        combo.blockSignals(True)
        combo.clear()
        if len(self.pairs) > 1:
            combo.addItem(PAIRS, ("pairs", None))
        for i, (pair, _overlap) in enumerate(self.pairs):
            combo.addItem(pair.label, ("pair", i))
        if len(self.words) > 1:
            combo.addItem(SIDE_BY_SIDE, ("words", None))
        for i, word in enumerate(self.words):
            combo.addItem(word.label, ("word", i))
        combo.blockSignals(False)

    # -- drawing --------------------------------------------------------------------------------
    def selected_words(self) -> list[WordMap]:
        kind, index = self.word_combo.currentData() or (None, None)
        if kind == "words":
            return list(self.words)
        return [self.words[index]] if kind == "word" else []

    def selected_pairs(self) -> list[tuple[BoundPair, float]]:
        kind, index = self.word_combo.currentData() or (None, None)
        if kind == "pairs":
            return list(self.pairs)
        return [self.pairs[index]] if kind == "pair" else []

    def _box_of(self, token_indices: tuple[int, ...]) -> tuple:
        """(box, colour) of the placed word with these tokens, as the preview draws it, or (None, "")."""
        for order, (tokens, box) in enumerate(self.boxes):
            if set(tokens) & set(token_indices):
                return box, box_colour(order)
        return None, ""

    def _render(self) -> None:
        if self.image is None:
            self.canvas.clear()
            return
        opacity = self.opacity.value() / 100
        cells = [(f"{pair.label} · overlap {overlap:.2f}", None,
                  pil_to_qimage(pair_picture(self.image, self.maps, pair, opacity)), (pair.modifier, pair.noun))
                 for pair, overlap in self.selected_pairs()]
        cells += [(word.label, self.peaks[word.label], pil_to_qimage(overlay(self.image, word.attention, opacity)), (),
                   *self._box_of(word.token_indices))
                  for word in self.selected_words()]
        self.canvas.set_cells(cells)
