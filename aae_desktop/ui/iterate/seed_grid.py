"""Seed sweep results as a grid (seed, seed+1, ...): click a cell to find it in the gallery; save the grid."""
from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QToolButton,
                               QVBoxLayout, QWidget)

from aae_desktop.engine.events import GenerationResult
from aae_desktop.gallery.grid import grid_columns
from aae_desktop.ui.image_convert import pil_to_qimage

CELL_ICON = 160


class SeedGridView(QWidget):
    cell_clicked = Signal(int)  # seed
    open_in_gallery = Signal(str)  # path of the cell's saved image
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("seedGridView")
        self.result: GenerationResult | None = None
        self.paths: dict[int, str] = {}
        # Every image the gallery reported saved, by its request: images are saved one by one as they
        # finish, so most are on disk before the sweep (and this grid) is complete.
        self._saved: dict = {}
        self.cells: dict[int, QToolButton] = {}
        self.title = QLabel("Seed sweep: render N seeds to compare them here.", objectName="seedGridTitle")
        self.save_button = QPushButton("Save grid", objectName="seedGridSave", enabled=False)
        self.save_button.clicked.connect(self.save_requested)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.save_button)
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        # The cells keep their size and scroll: a grid of 160 px cells must not raise the window's
        # minimum height (a 4-seed sweep used to push the status bar off a laptop screen).
        self.grid_scroll = QScrollArea(objectName="seedGridScroll", widgetResizable=True)
        self.grid_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.grid_scroll.setWidget(self.grid_box)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.grid_scroll, 1)

    def set_result(self, result: GenerationResult) -> None:
        self.result = result
        self.paths = {r.seed: self._saved[r.request] for r in result.images if r.request in self._saved}
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.cells = {}
        columns = grid_columns(len(result.images))
        for i, item in enumerate(result.images):
            cell = QToolButton(objectName="seedGridCell")
            cell.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            cell.setIcon(QIcon(QPixmap.fromImage(pil_to_qimage(item.image))))
            cell.setIconSize(QSize(CELL_ICON, CELL_ICON))
            cell.setText(f"seed {item.seed}")
            cell.setToolTip("Click to find this image in the gallery")
            cell.clicked.connect(lambda _checked=False, seed=item.seed: self._clicked(seed))
            self.grid.addWidget(cell, i // columns, i % columns)
            self.cells[item.seed] = cell
        seeds = result.seeds
        self.title.setText(f"Seeds {seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else f"Seed {seeds[0]}")
        self.save_button.setEnabled(bool(seeds))

    def set_saved_paths(self, saved) -> None:
        """Map cells to gallery files once the autosave reports them (list of SavedImage)."""
        for item in saved:
            self._saved[item.request] = str(Path(item.path).resolve())
        wanted = {r.request for r in self.result.images} if self.result is not None else set()
        for item in saved:
            if item.request in wanted:
                self.paths[item.request.seed] = self._saved[item.request]

    def images(self) -> list[Image.Image]:
        return [r.image for r in self.result.images] if self.result else []

    def _clicked(self, seed: int) -> None:
        self.cell_clicked.emit(seed)
        if seed in self.paths:
            self.open_in_gallery.emit(self.paths[seed])
