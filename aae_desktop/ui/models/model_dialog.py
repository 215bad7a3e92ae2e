"""First run: choose where the model (SD 1.x, SD 2.x or SDXL) comes from (folder, checkpoint, HF cache, or download)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from aae_desktop.engine.models.hf_cache import CachedModel, list_cached_models
from aae_desktop.engine.models.unsupported import supported_text
from aae_desktop.ui.background import Background

CHECKPOINT_FILTER = "Stable Diffusion checkpoints (*.safetensors *.ckpt);;All files (*)"


def pick_folder(parent: QWidget | None, start: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, "Choose a diffusers model folder (it holds model_index.json)", start)


def pick_checkpoint(parent: QWidget | None, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, f"Choose a {supported_text()} checkpoint", start, CHECKPOINT_FILTER)
    return path


# What people often have on disk beside their models (see engine/models/unsupported.py for the full list).
_NOT_SUPPORTED = ("SDXL refiners, inpainting models, SD3, FLUX, video models, or add-ons such as LoRAs, "
                  "embeddings and VAEs")


class FirstRunDialog(QDialog):
    """Emits `source_chosen` with what load_model() accepts; `cache_wanted` / `download_wanted` open those dialogs.

    The file pickers are attributes so tests can replace the native dialogs.
    """

    source_chosen = Signal(str)
    cache_wanted = Signal()
    download_wanted = Signal()
    cache_scanned = Signal(int)

    def __init__(self, parent: QWidget | None = None, cache_dir: str | None = None):
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Choose a Stable Diffusion model")
        self.setMinimumWidth(640)
        self.pick_folder: Callable[[QWidget | None], str] = pick_folder
        self.pick_checkpoint: Callable[[QWidget | None], str] = pick_checkpoint
        intro = QLabel(
            "<b>Choose the Stable Diffusion model that draws your images.</b>"
            f"<p>Runs: {supported_text()} text-to-image models, base models and their fine-tunes.<br>"
            f"Not: {_NOT_SUPPORTED}.</p>"
            "<p>Pick one you already have; nothing is downloaded unless you click Download. "
            "The choice is remembered (Model menu to change it).</p>"
        )
        intro.setObjectName("firstRunIntro")
        intro.setWordWrap(True)
        self.folder_button = QPushButton("Open a model folder…")
        self.folder_button.setObjectName("firstRunFolder")
        self.file_button = QPushButton("Open a checkpoint file…")
        self.file_button.setObjectName("firstRunFile")
        self.cache_button = QPushButton("From the Hugging Face cache…")
        self.cache_button.setObjectName("firstRunCache")
        self.cache_button.setEnabled(False)
        self.download_button = QPushButton("Download a model…")
        self.download_button.setObjectName("firstRunDownload")
        self.cache_note = QLabel("Looking in the Hugging Face cache…")
        self.cache_note.setObjectName("firstRunCacheNote")
        explanations = [
            (self.folder_button, "A diffusers folder: model_index.json with unet/, vae/, text_encoder/ … beside it."),
            (self.file_button, "One .safetensors or .ckpt file (SD 1.x, SD 2.x 512 or 768, SDXL), as shared on "
                               "model sites; its family is read from the file."),
            (self.cache_button, self.cache_note),
            (self.download_button, "Stable Diffusion 1.4 (the paper's model), 1.5 or SDXL base 1.0 from "
                                   "huggingface.co; the size is shown before anything is fetched."),
        ]
        grid = QGridLayout()
        for row, (button, text) in enumerate(explanations):
            button.setToolTip(text if isinstance(text, str) else "Models other tools already downloaded.")
            label = text if isinstance(text, QLabel) else QLabel(text)
            label.setWordWrap(True)
            grid.addWidget(button, row, 0)
            grid.addWidget(label, row, 1)
        grid.setColumnStretch(1, 1)
        self.later_button = QPushButton("Later")
        self.later_button.setToolTip("Close; the Model menu offers the same choices.")
        self.later_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.later_button)

        self.folder_button.clicked.connect(lambda: self._chosen(self.pick_folder(self)))
        self.file_button.clicked.connect(lambda: self._chosen(self.pick_checkpoint(self)))
        self.cache_button.clicked.connect(lambda: self._hand_over(self.cache_wanted))
        self.download_button.clicked.connect(lambda: self._hand_over(self.download_wanted))
        self._background = Background(parent=self)
        self._background.call(lambda: list_cached_models(cache_dir), self._show_cache, lambda exc: self._show_cache([]))

    def _show_cache(self, models: list[CachedModel]) -> None:
        ready = [m for m in models if m.complete]
        if ready:
            names = ", ".join(m.repo_id for m in ready[:3]) + ("…" if len(ready) > 3 else "")
            self.cache_note.setText(f"Models other tools already downloaded. Found {len(ready)}: {names}")
        else:
            self.cache_note.setText("Models other tools already downloaded. None found on this computer.")
        self.cache_button.setEnabled(bool(ready))
        self.cache_scanned.emit(len(ready))

    def _chosen(self, source: str) -> None:
        if source:
            self.source_chosen.emit(source)
            self.accept()

    def _hand_over(self, signal) -> None:
        self.accept()
        signal.emit()

    def done(self, result: int) -> None:
        self._background.abandon()  # never wait for the cache scan: it ends on its own thread, reporting to nobody
        super().done(result)
