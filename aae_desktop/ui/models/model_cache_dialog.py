"""Picks an SD 1.x/2.x/SDXL model that is already in the local Hugging Face cache (found without the network)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.models.hf_cache import CachedModel, hf_cache_dir, list_cached_models
from aae_desktop.engine.models.model_info import format_size
from aae_desktop.engine.models.families import family_label
from aae_desktop.engine.models.unsupported import refused_kind, supported_text
from aae_desktop.ui.background import Background


class CachePickerDialog(QDialog):
    """Lists cached pipelines (scanned on a pool thread), the ones we cannot run greyed with the reason;
    `chosen` emits the repo id."""

    chosen = Signal(str)
    scanned = Signal(int)  # how many models were found (tests wait on it)

    def __init__(self, parent: QWidget | None = None, cache_dir: str | None = None):
        super().__init__(parent)
        self.setObjectName("cachePickerDialog")
        self.setWindowTitle("Models in the Hugging Face cache")
        self.resize(800, 360)
        self._cache_dir = cache_dir or str(hf_cache_dir())
        self.status = QLabel(f"Looking in {self._cache_dir}…")
        self.status.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("cacheTree")
        self.tree.setHeaderLabels(["Model", "Family", "Size", "State"])
        self.tree.setRootIsDecorated(False)
        for column, width in enumerate((320, 90, 70)):  # the State column takes the rest
            self.tree.setColumnWidth(column, width)
        self.tree.itemDoubleClicked.connect(lambda *_: self._accept_current())
        self.tree.currentItemChanged.connect(lambda *_: self._update_ok())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept_current)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.buttons)
        self._update_ok()
        self._background = Background(parent=self)
        self._background.call(lambda: list_cached_models(self._cache_dir, include_unsupported=True), self._show,
                              self._show_error)

    def _show(self, models: list[CachedModel]) -> None:
        # Models the app runs first; the others stay visible (greyed, with the reason) so none seems lost.
        models = sorted(models, key=lambda m: m.refusal is not None)
        for model in models:
            if model.refusal:
                family, state = "—", "not supported: " + refused_kind(model.refusal, model.repo_id)
            else:
                family = family_label(model.family)
                state = "ready" if model.complete else f"incomplete: no {', '.join(model.missing)}"
            item = QTreeWidgetItem([model.repo_id, family, format_size(model.size_on_disk), state])
            item.setData(0, Qt.ItemDataRole.UserRole, model.repo_id)
            item.setToolTip(0, str(model.snapshot))
            item.setToolTip(3, model.refusal or state)
            if model.refusal or not model.complete:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(item)
        usable = [m for m in models if not m.refusal]
        ready = [m for m in usable if m.complete]
        others = len(models) - len(usable)
        if usable:
            self.status.setText(f"{len(usable)} Stable Diffusion model(s) in {self._cache_dir}."
                                + (f" {others} other pipeline(s) it cannot run are greyed (hover for why)."
                                   if others else ""))
        else:
            self.status.setText(f"No Stable Diffusion models ({supported_text()}) in {self._cache_dir}. "
                                "Use Model ▸ Download a model… to get one.")
        if ready:
            index = models.index(ready[0])
            self.tree.setCurrentItem(self.tree.topLevelItem(index))
        self.scanned.emit(len(usable))

    def _show_error(self, exc: Exception) -> None:
        self.status.setText(f"The cache could not be read: {exc}")
        self.scanned.emit(0)

    def _update_ok(self) -> None:
        item = self.tree.currentItem()
        ok = item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
        self.buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(ok)

    def _accept_current(self) -> None:
        item = self.tree.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return
        self.chosen.emit(item.data(0, Qt.ItemDataRole.UserRole))
        self.accept()

    def done(self, result: int) -> None:
        self._background.abandon()  # never wait for the scan: it ends on its own thread, reporting to nobody
        super().done(result)
