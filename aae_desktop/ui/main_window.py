"""The main window: lays out the editors, preview, parameters and results and wires them to the worker."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.settings import Settings, SettingsStore
from aae_desktop.ui.column_scroll import ColumnContent, ColumnScroll, frameless
from aae_desktop.ui.iterate.result_strip import ResultItem, ResultStrip
from aae_desktop.ui.message_banner import MessageBanner
from aae_desktop.ui.parameters.parameter_panel import MAX_SEED, SEED_MODES, ParameterPanel
from aae_desktop.ui.parameters.restore_changes import restore_message
from aae_desktop.ui.prompt.addons_panel import AddonsPanel
from aae_desktop.ui.prompt.box_wiring import connect_boxes
from aae_desktop.ui.prompt.prompt_editor import PromptEditor
from aae_desktop.ui.run.engine_port import Engine, ProcessEngine
from aae_desktop.ui.run.preview_view import PreviewView
from aae_desktop.ui.run.run_session import RunRefused, RunSession
from aae_desktop.ui.run.run_status import RunStatus
from aae_desktop.ui.run.run_words import RunWords
from aae_desktop.ui.run.worker import WorkerController
from aae_desktop.ui.run.worker_binding import WorkerEventBinding
from aae_desktop.ui.window_settings import WindowSettings

log = logging.getLogger(__name__)


class MainWindow(WorkerEventBinding, WindowSettings, QMainWindow):
    # Each image as soon as it is finished (engine.events.ImageResult): the gallery saves it then, so
    # a batch that is cancelled, fails or is closed later keeps every image it finished.
    image_ready = Signal(object)
    results_ready = Signal(object)  # GenerationResult, once per finished run (heat maps, self-test)

    def __init__(self, store: SettingsStore, engine: Engine | None = None, settings: Settings | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Attend-and-Excite Desktop")
        self.store = store
        self.settings = settings if settings is not None else store.load()
        # The real engine runs in its own process, so a render never makes the window stutter.
        self.worker = WorkerController(engine or ProcessEngine(), self)
        # The model, its load options and the checks a run must pass live in the session, not here.
        self.session = RunSession(self.worker, self.settings.last_model,
                                  LoadOptions(device=self.settings.device, precision=self.settings.precision))
        self._run_words = RunWords()  # each run's own words, for the readout
        # Run when the window closes, after the worker has stopped and its last images have arrived
        # (the gallery waits there for its saves to reach the disk).
        self.close_hooks: list[Callable[[], None]] = []
        self._build_widgets()
        self._build_menus()
        connect_boxes(self)
        self._connect_worker()
        self._restore_settings()
        self.worker.load_tokenizer()

    # ------------------------------------------------------------------------------------------
    # Layout
    def _build_widgets(self) -> None:
        self.prompt_editor = PromptEditor()
        self.addons = AddonsPanel(self.settings, self.prompt_editor)
        self.addons.folders_changed.connect(self.save_settings)
        self.parameters = ParameterPanel()
        self.preview = PreviewView()
        self.run_status = RunStatus()
        self.banner = MessageBanner()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setToolTip("Render the prompt with the chosen words excited (Ctrl+Enter).")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop the current run within one denoising step (Esc).")
        self.cancel_button.setEnabled(False)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel)

        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        editors = ColumnContent()
        editors_layout = QVBoxLayout(editors)
        editors_layout.setContentsMargins(0, 0, 0, 0)
        editors_layout.addWidget(self.prompt_editor, 1)
        editors_layout.addWidget(self.addons)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        # The editors scroll when the window is short; Generate and Cancel stay in sight below them.
        left_layout.addWidget(frameless(ColumnScroll(editors, "editorScroll")), 1)
        left_layout.addLayout(buttons)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.addWidget(self.banner)
        centre_layout.addWidget(self.preview, 1)
        centre_layout.addWidget(self.run_status)

        scroll = ColumnScroll(self.parameters, "parameterScroll")

        self.work_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.work_splitter.setObjectName("workSplitter")
        for widget, stretch in ((left, 0), (centre, 1), (scroll, 0)):
            self.work_splitter.addWidget(widget)
            self.work_splitter.setStretchFactor(self.work_splitter.count() - 1, stretch)
        self.work_splitter.setSizes([360, 640, 320])

        self.gallery_widget: QWidget = ResultStrip()
        self._connect_result_strip(self.gallery_widget)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.work_splitter)
        self.main_splitter.addWidget(self.gallery_widget)
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setSizes([640, 150])
        self.setCentralWidget(self.main_splitter)

        self.model_status = QLabel("No model loaded")
        self.model_status.setObjectName("modelStatus")
        self.statusBar().addPermanentWidget(self.model_status)
        self.prompt_editor.selection_changed.connect(self._update_generate_hint)
        self.parameters.excite.toggled_on.connect(self.prompt_editor.set_excite_enabled)
        self.prompt_editor.bindings_changed.connect(self.parameters.bind.show_pairs)
        self.parameters.seed_locked.connect(lambda *_: self.statusBar().showMessage(
            f"Seed mode is now “{SEED_MODES['locked']}”: Generate uses the seed you chose.", 8000))

    def _build_menus(self) -> None:
        toolbar = QToolBar("Model")
        toolbar.setObjectName("modelToolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        # The models engineer's combo and buttons go into this area (see model_area_layout).
        self.model_area = QWidget()
        self.model_area.setObjectName("modelArea")
        self.model_area_layout = QHBoxLayout(self.model_area)
        self.model_area_layout.setContentsMargins(4, 0, 4, 0)
        self.model_area_layout.addWidget(QLabel("Model"))
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setMinimumWidth(320)
        self.model_combo.setToolTip("The Stable Diffusion model that draws the image; it loads on the first Generate.")
        self.model_combo.activated.connect(lambda i: self.request_model_load(self.model_combo.itemData(i)))
        self.model_area_layout.addWidget(self.model_combo, 1)
        toolbar.addWidget(self.model_area)

        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        self.model_menu = self.menuBar().addMenu("&Model")
        open_folder = QAction("Open model &folder…", self)
        open_folder.setToolTip("Use a diffusers model folder (the one holding model_index.json).")
        open_folder.triggered.connect(self._choose_model_folder)
        self.model_menu.addAction(open_folder)

        run_menu = self.run_menu = self.menuBar().addMenu("&Generate")
        self.generate_action = QAction("&Generate", self)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.generate_action.triggered.connect(self.generate)
        self.cancel_action = QAction("&Cancel", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.triggered.connect(self.cancel)
        run_menu.addActions([self.generate_action, self.cancel_action])
        for action in (self.generate_action, self.cancel_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)

    def set_gallery_widget(self, widget: QWidget) -> None:
        """Put the gallery panel in the bottom slot, replacing the session strip (give it objectName galleryView)."""
        old = self.gallery_widget
        index = self.main_splitter.indexOf(old)
        sizes = self.main_splitter.sizes()
        self.main_splitter.replaceWidget(index, widget)
        self.main_splitter.setSizes(sizes)
        old.deleteLater()
        self.gallery_widget = widget

    def _connect_result_strip(self, strip: ResultStrip) -> None:
        strip.image_chosen.connect(self._show_result_item)
        strip.seed_wanted.connect(self.apply_seed)
        strip.request_wanted.connect(self.apply_request)

    # ------------------------------------------------------------------------------------------
    # Model
    def request_model_load(self, source: str | None, options: LoadOptions | None = None) -> None:
        """Load `source` in the worker now (with visible progress); Generate then reuses it."""
        if not source:
            return
        self._set_model_source(str(source))
        # The worker loads it once the run in progress is over (its queue runs one thing at a time);
        # until then the run and the status bar keep the model it started with: say so.
        running = self.worker.current_request is not None
        later = self.session.choose_model(str(source), options)
        if running:
            self.model_status.setText(self.model_status.text().split("  →  ")[0] + (f"  →  {later}" if later else ""))

    @property
    def model_source(self) -> str:
        return self.session.model_source

    @property
    def load_options(self) -> LoadOptions:
        return self.session.load_options

    def _set_model_source(self, source: str) -> None:
        self.session.model_source = source
        index = self.model_combo.findData(source)
        if index < 0 and source:
            self.model_combo.addItem(Path(source).name or source, source)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(index)

    def _choose_model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a diffusers model folder", self.model_source)
        if folder:
            self.request_model_load(folder)

    # ------------------------------------------------------------------------------------------
    # Requests
    def current_request(self, for_run: bool = False) -> GenerationRequest:
        """What Generate would run. Raises InvalidRequest for text the panel cannot read, and for a run,
        AddonError for a LoRA tag or embedding whose file is not in its folder."""
        base = self.parameters.base()
        seed = self.parameters.seed_for_next_run() if for_run else base.seed
        request = GenerationRequest(
            model=self.session.model_source,
            prompt=self.prompt_editor.prompt(),
            negative_prompt=self.prompt_editor.negative_prompt(),
            seed=seed,
            num_images=base.num_images,
            steps=base.steps,
            guidance_scale=base.guidance_scale,
            width=base.width,
            height=base.height,
            scheduler=base.scheduler,
            clip_skip=base.clip_skip,
            eta=base.eta,
            excite=self.parameters.excite.settings(self.prompt_editor.token_indices()),
            bind=self.prompt_editor.bind_settings(*self.parameters.bind.values()),
            boxes=self.prompt_editor.box_settings(*self.parameters.boxes.values()),
        )
        return self.addons.resolve(request) if for_run else request  # tags and embedding words -> files

    def field_labels(self) -> dict[str, str]:
        """Request field -> the label shown in this window, so messages name what the artist sees."""
        return {"prompt": "Prompt", **self.parameters.field_labels()}

    def apply_request(self, request: GenerationRequest, seed_known: bool = True) -> None:
        """Restore prompt, negative prompt, chosen words, seed and every parameter (and the model).
        LoRAs and embeddings come back with the prompt; files of theirs not here are named in the banner,
        and so is each value the boxes cannot hold, with what it became. Without `seed_known` (the
        image had no usable seed) the seed is drawn anew for each run."""
        self.addons.prepare_restore(request)
        # An image without bound pairs gets the suggested ones shown (its Bind group is restored off).
        self.prompt_editor.set_prompt(request.prompt, request.negative_prompt, request.excite.token_indices,
                                      request.bind.groups or None, request.boxes.boxes)
        notes = restore_message(self.parameters.apply_request(request, seed_known), seed_known)
        # Restoring an image means keeping its seed; one that had none gets a new one each run.
        self.parameters.set_seed_mode("locked" if seed_known else "random")
        if request.model:
            self._set_model_source(request.model)
        if not self.addons.report_missing(request, self.banner, notes) and notes:
            self.banner.show_info(" ".join(notes))

    def apply_seed(self, seed: int) -> None:
        self.parameters.seed.setValue(min(seed, MAX_SEED))
        self.parameters.set_seed_mode("locked")
        if seed > MAX_SEED:  # e.g. a CLI or A1111 seed (they draw up to 2^32): say so, not a quiet other image
            self.banner.show_info(" ".join(restore_message([f"Seed {seed} became {MAX_SEED}"])))

    def generate(self) -> None:
        if self.worker.busy:
            return
        self.banner.hide()
        try:
            prepared = self.session.prepare(self.current_request(for_run=True), self.prompt_editor.tokenizer,
                                            self.field_labels())
        except InvalidRequest as exc:  # text a box cannot read (thresholds)
            self.banner.show_error("Check the settings", exc.message_for(self.field_labels()))
            self.parameters.focus_field(exc.field)
            return
        except RunRefused as refused:
            self.banner.show_error(refused.title, refused.message)
            self.parameters.focus_field(refused.field)
            return
        if prepared.notes:
            self.banner.show_info(" ".join(prepared.notes))
        self.session.submit(prepared)
        self.parameters.run_submitted(prepared.request)
        # Settings are also written per run, so a crash or a killed session keeps the last run's setup.
        self.save_settings()
        self.run_status.readout.clear()
        self.run_status.busy("Starting…")
        self._set_busy(True)

    def cancel(self) -> None:
        if self.worker.busy:
            if self.worker.cancel():
                self.run_status.busy("Stopping at once…")
            else:
                again = " (Cancel again stops at once)" if self.worker.can_stop_at_once else ""
                self.run_status.busy(f"Cancelling after this step…{again}")

    def _set_busy(self, busy: bool) -> None:
        # The prompt stays editable during a run: the artist writes the next one meanwhile.
        self.generate_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.generate_action.setEnabled(not busy)

    def _update_generate_hint(self) -> None:
        binding = self.parameters.bind.isChecked() and bool(self.prompt_editor.bind_pairs()) or \
            self.parameters.boxes.isChecked() and bool(self.prompt_editor.placed())
        if self.parameters.excite.isChecked() and not self.prompt_editor.token_indices() and not binding:
            self.generate_button.setToolTip("Choose at least one word to excite first (or switch Attend-and-Excite off).")
        else:
            self.generate_button.setToolTip("Render the prompt with the chosen words excited (Ctrl+Enter).")

    def _show_result_item(self, item: ResultItem) -> None:
        self.preview.show_image(item.image, f"seed {item.result.seed}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        # Cancel stops the run within one UNet call, so this returns quickly even mid-generation.
        self.worker.shutdown(timeout_ms=2000)
        # Images the worker finished just before it stopped are still queued as events: deliver them
        # now (the gallery saves them), since the event loop may not run again.
        QCoreApplication.sendPostedEvents()
        for hook in self.close_hooks:
            hook()
        super().closeEvent(event)
