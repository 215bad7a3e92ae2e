"""Model menu, recent models, first-run choice and failure handling, attached to the main window.

The window owns the combo and `request_model_load(source, options)`; this adds the ways to choose
a model (checkpoint file, HF cache, download, recent), device/memory options, model info, asks the
SD 2.x 512-vs-768 question once per file, and keeps the previous model when a new one fails.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenu

from aae_desktop.engine.models.families import family_label
from aae_desktop.engine.models.model_library import ModelLibrary
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.ui.background import Background

if TYPE_CHECKING:  # the window these panels live in (typed, not imported at run time)
    from aae_desktop.ui.main_window import MainWindow

# The dialogs (and the Hub helpers behind them) are imported when first opened: the window must
# appear before anything slow happens on the UI thread.

KEPT_NOTE = " (kept: the new model failed)"


class ModelControls(QObject):
    described = Signal(dict)  # the loaded model's kind/family/size, once known (tests wait on it)

    def __init__(self, window: "MainWindow", library: ModelLibrary | None = None, cache_dir: str | None = None,
                 endpoint: str | None = None):
        super().__init__(window)
        self.window = window
        self.library = library or ModelLibrary()
        self._cache_dir, self._endpoint = cache_dir, endpoint
        self.pick_checkpoint = _pick_checkpoint  # replaceable in tests (native dialogs cannot be driven)
        self.active_dialog: QDialog | None = None
        self.loaded: tuple[str, LoadOptions, Any] | None = None  # (source, options, ModelHandle)
        self.loaded_facts: dict[str, str] = {}
        self._cpu_noted = False  # the CPU note is said once per app start (one window, one set of controls)
        # A load the window started before these controls existed (launch with --model) still gets its
        # failure handled (SD 2.x question) when its result arrives after installation.
        self._pending: tuple[str, LoadOptions] | None = (
            (window.model_source, window.load_options) if window.model_source else None
        )
        self._background = Background(parent=self)
        self._build_menu()
        self._restore_memory_options()
        self._fill_combo()
        self._restore_family()
        worker = window.worker
        worker.model_load_started.connect(self._on_load_started)
        worker.model_loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_run_finished)

    # -- menu ------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        menu: QMenu = self.window.model_menu
        self.recent_menu = QMenu("&Recent models", menu)
        self.recent_menu.setObjectName("recentModelsMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        entries = [
            ("Open &checkpoint file…", "A single .safetensors / .ckpt file (SD 1.x, SD 2.x, SDXL).", self.open_checkpoint),
            ("From &Hugging Face cache…", "Models already downloaded by any Hugging Face tool.", self.choose_from_cache),
            ("&Download a model…", "Fetch SD 1.4, SD 1.5 or SDXL base into the Hugging Face cache (asks first).",
             self.download),
            None,
            ("&Device and memory…", "GPU or CPU, precision, VAE tiling, attention slicing, CPU offload.", self.edit_options),
            ("Model &info…", "Family, precision, device and size of the loaded model.", self.show_info),
        ]
        menu.addMenu(self.recent_menu)
        self.actions: dict[str, QAction] = {}
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            text, tip, slot = entry
            action = QAction(text, self.window)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.actions[slot.__name__] = action

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.library.recent()
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for item in recent:
            family = f"  ({family_label(item.family)})" if item.family else ""
            action = self.recent_menu.addAction(f"{item.name}{family}  —  {item.source}")
            action.triggered.connect(lambda _=False, s=item.source: self.load(s))

    def _fill_combo(self) -> None:
        """Recent models in the combo, each with its family ("juggernautXL  ·  SDXL")."""
        combo = self.window.model_combo
        for item in self.library.recent():
            index = combo.findData(item.source)
            if index < 0:
                combo.addItem("", item.source)
                index = combo.count() - 1
                combo.setItemData(index, item.source, 3)  # Qt.ToolTipRole
            name = item.name or Path(item.source).name
            combo.setItemText(index, f"{name}  ·  {family_label(item.family)}" if item.family else name)

    # -- choosing ----------------------------------------------------------------------------------
    def load(self, source: str, options: LoadOptions | None = None) -> None:
        if source:
            self.window.request_model_load(source, options)

    def open_checkpoint(self) -> None:
        from aae_desktop.engine.models.single_file import is_checkpoint_file

        start = self.window.model_source if is_checkpoint_file(self.window.model_source or "x") else ""
        self.load(self.pick_checkpoint(self.window, str(Path(start).parent) if start else ""))

    def choose_from_cache(self) -> None:
        from aae_desktop.ui.models.model_cache_dialog import CachePickerDialog

        dialog = CachePickerDialog(self.window, self._cache_dir)
        dialog.chosen.connect(self.load)
        self._open(dialog)

    def download(self) -> None:
        from aae_desktop.ui.models.model_download_dialog import DownloadDialog

        from aae_desktop.ui.models.model_options_dialog import available_devices, effective_device

        choice = self.window.load_options.device
        # The dialog asks torch which devices exist on its own thread: importing torch here froze the
        # window for 1-2 s before the dialog appeared. Until then it recommends for the CPU.
        dialog = DownloadDialog(self.window, self._cache_dir, self._endpoint, device=effective_device(choice, {}),
                                find_device=lambda: effective_device(choice, available_devices()))
        dialog.downloaded.connect(self.load)
        self._open(dialog)

    def offer_first_run(self) -> bool:
        """Show the first-run choice when no model was ever configured; True when shown."""
        if self.window.model_source or self.library.recent():
            return False
        from aae_desktop.ui.models.model_dialog import FirstRunDialog

        dialog = FirstRunDialog(self.window, self._cache_dir)
        dialog.source_chosen.connect(self.load)
        dialog.cache_wanted.connect(self.choose_from_cache)
        dialog.download_wanted.connect(self.download)
        self._open(dialog)
        return True

    def edit_options(self) -> None:
        from aae_desktop.ui.models.model_options_dialog import ModelOptionsDialog

        dialog = ModelOptionsDialog(self.window.load_options, self.window)
        dialog.accepted.connect(lambda: self.apply_options(dialog.options()))
        self._open(dialog)

    def apply_options(self, options: LoadOptions) -> None:
        """Use new device/memory options: reload the current model with them, or keep them for the first load."""
        self.library.set_load_options({k: v for k, v in asdict(options).items() if k not in ("family", "config_dir")})
        if self.window.model_source:
            self.window.request_model_load(self.window.model_source, options)
        else:
            self.window.session.load_options = options  # used by the next load (Generate loads a model not loaded yet)

    def show_info(self) -> None:
        from aae_desktop.ui.models.model_info_dialog import ModelInfoDialog

        rows = {"Model": "none loaded yet (it loads on the first Generate)"}
        if self.loaded is not None:
            source, options, payload = self.loaded
            memory = [name for name, on in (("VAE tiling", options.vae_tiling),
                                            ("Attention slicing", options.attention_slicing),
                                            ("CPU offload", options.cpu_offload and payload.device == "cuda")) if on]
            rows = {"Model": payload.name, "Source": source, **self.loaded_facts, "Precision": payload.dtype,
                    "Device": payload.device, "Memory options": ", ".join(memory) or "none"}
        self._open(ModelInfoDialog(rows, self.window))

    # -- worker results ----------------------------------------------------------------------------------
    def _on_load_started(self, payload: Any) -> None:
        self._pending = (payload.source, self.window.load_options)

    def _on_loaded(self, payload: Any) -> None:
        options = self._pending[1] if self._pending and self._pending[0] == payload.source else self.window.load_options
        self.loaded = (payload.source, options, payload)
        self._pending = None
        source = payload.source
        self._background.call(lambda: _describe(source, self.library),
                              lambda facts: self._on_described(source, payload, facts))

    def _on_described(self, source: str, payload: Any, facts: Any) -> None:  # engine.model_info.SourceFacts
        self.loaded_facts = facts.rows()
        self.library.add_recent(source, payload.name, facts.kind, facts.family)
        self._fill_combo()
        self.window.model_status.setText(self._status_text(payload))
        notes = list(getattr(payload, "notes", ()))
        if payload.device == "cpu" and not self._cpu_noted:
            from aae_desktop.engine.models.families import FAMILIES, get_family
            from aae_desktop.ui.models.model_options_dialog import cpu_warning

            family = FAMILIES.get(payload.family) or get_family(facts.family or "sd1")
            notes.insert(0, f"{cpu_warning(family.default_width)} Model ▸ Device and memory… to change it.")
            self._cpu_noted = True
        if notes:
            self.window.banner.show_info(" ".join(notes))
        self.described.emit(self.loaded_facts)

    def _status_text(self, payload: Any, suffix: str = "") -> str:
        family = self.loaded_facts.get("Family", "")
        return " · ".join(part for part in (payload.name, family, payload.device, payload.dtype) if part) + suffix

    def _on_failed(self, payload: Any) -> None:
        if not payload.model_kept:
            self.loaded = None
        if not (payload.kind == "model" or payload.while_loading) or self._pending is None:
            return
        from aae_desktop.engine.models.single_file import FAMILY_UNKNOWN_HINT
        from aae_desktop.ui.models.model_family_dialog import FamilyDialog

        source, options = self._pending
        self._pending = None
        if payload.message.endswith(FAMILY_UNKNOWN_HINT):
            dialog = FamilyDialog(source, self.window)
            dialog.accepted.connect(lambda: self._family_chosen(source, dialog.family(), options))
            dialog.rejected.connect(lambda: self._keep_previous(source))
            self._open(dialog)
            return
        self._keep_previous(source)

    def _family_chosen(self, source: str, family: str, options: LoadOptions) -> None:
        self.library.remember_family(source, family)
        self.load(source, replace(options, family="auto"))  # the engine reads the remembered answer

    def _keep_previous(self, failed: str) -> None:
        """The worker still holds the last good model: point the window back at it. The source that
        failed leaves the Model box; with no model left it stays chosen there, marked as failed."""
        combo = self.window.model_combo
        index = combo.findData(failed)
        if self.loaded is None:
            if index >= 0:
                combo.setItemText(index, f"{Path(failed).name or failed}  —  failed to load")
            return
        source, options, payload = self.loaded
        if index >= 0 and failed != source:
            combo.removeItem(index)
        self.window.request_model_load(source, options)  # same source + options: the worker does not reload
        self.window.model_status.setText(self._status_text(payload, KEPT_NOTE))

    def _on_run_finished(self, _payload: Any) -> None:
        """A run has used the kept model: the failure note has had its say."""
        if self.loaded is not None and self.window.model_status.text().endswith(KEPT_NOTE):
            self.window.model_status.setText(self._status_text(self.loaded[2]))

    # -- helpers ---------------------------------------------------------------------------------
    def _open(self, dialog: QDialog) -> None:
        self.active_dialog = dialog
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _restore_family(self) -> None:
        """Before the remembered model loads, show its family's size presets (its restored values are its own)."""
        from aae_desktop.engine.models.families import FAMILIES

        family = next((r.family for r in self.library.recent() if r.source == self.window.model_source), "")
        if family in FAMILIES:
            self.window.parameters.set_family(FAMILIES[family], follow_defaults=False)

    def _restore_memory_options(self) -> None:
        saved = self.library.load_options()
        if not saved:
            return
        current = self.window.load_options
        fields = {k: v for k, v in saved.items() if k in ("vae_slicing", "vae_tiling", "cpu_offload", "attention_slicing") and isinstance(v, bool)}
        self.window.session.load_options = replace(current, **fields)  # device/precision come from the window's settings


def _describe(source: str, library: ModelLibrary) -> Any:
    # Imported here, on the pool thread: the first import costs tens of milliseconds of the UI thread.
    from aae_desktop.engine.models.model_info import describe_source

    return describe_source(source, library)


def _pick_checkpoint(parent: Any, start: str = "") -> str:
    from aae_desktop.ui.models.model_dialog import pick_checkpoint

    return pick_checkpoint(parent, start)


def install_model_controls(window: "MainWindow", library: ModelLibrary | None = None) -> ModelControls:
    controls = ModelControls(window, library)
    window.model_controls = controls  # keeps it alive with the window
    return controls


def install_model_controls_soon(window: "MainWindow", offer_first_run: bool = True) -> None:
    """Install right after the window is on screen (the first paint comes before anything else)."""
    from PySide6.QtCore import QTimer

    def install() -> None:
        controls = install_model_controls(window)
        if offer_first_run:
            controls.offer_first_run()

    QTimer.singleShot(0, window, install)
