"""The main window: lays out the editors, preview, parameters and results and wires them to the worker."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QCoreApplication, Qt, Signal
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

from aae_desktop.engine.errors import InvalidRequest, worded
from aae_desktop.engine.events import GenerationResult
from aae_desktop.engine.families import FAMILIES, family_label
from aae_desktop.engine.models import LoadOptions
from aae_desktop.engine.request import GenerationRequest, session_request_from_dict
from aae_desktop.settings import Settings, SettingsStore
from aae_desktop.ui.run.engine_port import Engine, ProcessEngine
from aae_desktop.ui.message_banner import MessageBanner
from aae_desktop.ui.parameters.parameter_panel import MAX_SEED, SEED_MODES, BaseParameters, ParameterPanel
from aae_desktop.ui.column_scroll import ColumnContent, ColumnScroll, frameless
from aae_desktop.ui.parameters.restore_changes import restore_message
from aae_desktop.ui.run.preview_view import PreviewView
from aae_desktop.ui.prompt.addons_panel import AddonsPanel
from aae_desktop.ui.prompt.box_wiring import connect_boxes
from aae_desktop.ui.prompt.prompt_editor import PromptEditor
from aae_desktop.ui.iterate.result_strip import ResultItem, ResultStrip
from aae_desktop.ui.run.run_status import RunStatus, image_caption
from aae_desktop.ui.run.run_words import RunWords
from aae_desktop.ui.run.slow_render_notice import SlowRenderNotice
from aae_desktop.ui.run.worker import WorkerController
from aae_desktop.ui.run.worker_events import (
    ImageFinished,
    ModelLoaded,
    ModelLoadStarted,
    PreviewImage,
    Progress,
    RunCancelled,
    RunFailed,
    RunFinished,
    TokenizerLoaded,
)

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
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
        self._model_source = self.settings.last_model
        self._load_options = LoadOptions(device=self.settings.device, precision=self.settings.precision)
        self._run_words = RunWords()  # each run's own words, for the readout
        self._loaded: ModelLoaded | None = None  # what the worker holds now
        self._slow_render = SlowRenderNotice()  # warns of hours on the CPU before a run starts
        # Checks a run must pass before it starts, besides the request's own validation: each returns
        # None or (title, message) for the banner. The gallery adds "can the folder take the images?".
        self.run_checks: list[Callable[[GenerationRequest], tuple[str, str] | None]] = []
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
        if options is not None:
            self._load_options = options
        # The worker loads it once the run in progress is over (its queue runs one thing at a time);
        # until then the run and the status bar keep the model it started with: say so.
        running = self.worker.current_request
        if running is not None:
            now = self.model_status.text().split("  →  ")[0]
            later = "" if running.model == self._model_source else \
                f"  →  {Path(self._model_source).name or self._model_source} after this run"
            self.model_status.setText(now + later)
        self.worker.load_model(self._model_source, self._load_options)

    @property
    def model_source(self) -> str:
        return self._model_source

    @property
    def load_options(self) -> LoadOptions:
        return self._load_options

    def _set_model_source(self, source: str) -> None:
        self._model_source = source
        index = self.model_combo.findData(source)
        if index < 0 and source:
            self.model_combo.addItem(Path(source).name or source, source)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(index)

    def _choose_model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a diffusers model folder", self._model_source)
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
            model=self._model_source,
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
            request = self.current_request(for_run=True)
            if not request.model:
                raise InvalidRequest("Choose a model first: Model ▸ Open model folder…")
            warnings = request.validate(self.prompt_editor.tokenizer)
        except InvalidRequest as exc:
            self.banner.show_error("Check the settings", exc.message_for(self.field_labels()))
            self.parameters.focus_field(exc.field)
            return
        if not self.preflight(request):
            return
        notes = [worded(w, self.field_labels()) for w in warnings]
        notes = self._slow_render.at_submit(request, self._loaded, notes)  # + a long CPU render's estimate
        if notes:
            self.banner.show_info(" ".join(notes))
        self.worker.submit(request, self._load_options)
        self.parameters.run_submitted(request)
        # Settings are also written per run, so a crash or a killed session keeps the last run's setup.
        self.save_settings()
        self.run_status.readout.clear()
        self.run_status.busy("Starting…")
        self._set_busy(True)

    def preflight(self, request: GenerationRequest) -> bool:
        """Run the extra checks (see run_checks); show the first problem in the banner."""
        for check in self.run_checks:
            problem = check(request)
            if problem is not None:
                self.banner.show_error(*problem)
                return False
        return True

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

    # ------------------------------------------------------------------------------------------
    # Worker signals (all arrive on the UI thread through the controller)
    def _connect_worker(self) -> None:
        w = self.worker
        w.tokenizer_loaded.connect(self._on_tokenizer_loaded)
        w.model_load_started.connect(self._on_model_load_started)
        w.model_loaded.connect(self._on_model_loaded)
        w.model_loaded.connect(lambda payload: self.addons.set_model_family(payload.family, payload.source))
        w.progressed.connect(self._on_progressed)
        w.preview_ready.connect(self._on_preview)
        w.image_finished.connect(self._on_image_finished)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.busy_changed.connect(self._set_busy)

    def _on_tokenizer_loaded(self, payload: TokenizerLoaded) -> None:
        if self.prompt_editor.tokenizer is None:
            self.prompt_editor.set_tokenizer(payload.tokenizer)

    def _on_model_load_started(self, payload: ModelLoadStarted) -> None:
        text = f"Loading model {Path(payload.source).name}…"
        self.run_status.busy(text)
        self.model_status.setText(text)

    def _on_model_loaded(self, payload: ModelLoaded) -> None:
        self._loaded = payload
        self._show_loaded_model()
        if payload.family in FAMILIES:
            # Size presets, default size and guidance follow the family; the prompt and chosen words stay.
            self.parameters.set_family(FAMILIES[payload.family])
        self.parameters.set_model_sampler(payload.scheduler_class)
        if not self.worker.busy:
            self.run_status.idle(f"Model ready ({payload.seconds:.1f} s)")
        elif notes := self._slow_render.at_load(payload):  # the run it was loaded for has not started yet
            self.banner.show_info(" ".join(notes))
        if payload.tokenizer is not None and payload.tokenizer is not self.prompt_editor.tokenizer:
            self.prompt_editor.set_tokenizer(payload.tokenizer)

    def _show_loaded_model(self) -> None:
        m = self._loaded
        self.model_status.setText(" · ".join(p for p in (m.name, family_label(m.family), m.device, m.dtype) if p))
        self.model_status.setToolTip(f"{m.source}\nloaded in {m.seconds:.1f} s")

    def _on_progressed(self, p: Progress) -> None:
        if p.run_id == self.worker.current_run_id:
            words = self._run_words.of(p.run_id, self.worker.current_request, self.prompt_editor.tokenizer)
            self.run_status.show_progress(p, words)

    def _on_preview(self, payload: PreviewImage) -> None:
        if payload.run_id == self.worker.current_run_id:
            # Engine previews come with denoising events, whose step counts the steps finished.
            self.preview.show_image(payload.image, f"preview · step {payload.step}")

    def _on_image_finished(self, payload: ImageFinished) -> None:
        if isinstance(self.gallery_widget, ResultStrip):
            self.gallery_widget.results.add(payload.image, payload.result)
        caption = image_caption(payload.result)
        if payload.num_images > 1:
            caption += f" · image {payload.index + 1} of {payload.num_images}"
        self.preview.show_image(payload.image, caption)
        self.image_ready.emit(payload.result)

    def _on_finished(self, payload: RunFinished) -> None:
        result: GenerationResult = payload.result
        if payload.images:
            self.preview.show_image(payload.images[0], image_caption(result.images[0]))
        self.run_status.done(f"Done in {result.elapsed:.1f} s on {result.device}")
        # The readout ends on the last measurement of the image the heat map shows, so both say one number.
        measured = next((item for item in result.images if item.loss_history), None)
        if measured is not None:
            last = measured.loss_history[-1]
            words = self._run_words.of(payload.run_id, measured.request, self.prompt_editor.tokenizer)
            self.run_status.show_measurement(last.token_max_attention, words, last.loss)
        if result.warnings:
            self.banner.show_info(" ".join(worded(w, self.field_labels()) for w in result.warnings))
        self.results_ready.emit(result)

    def _on_failed(self, payload: RunFailed) -> None:
        message = payload.message
        if isinstance(payload.error, InvalidRequest):
            message = payload.error.message_for(self.field_labels())
        if not payload.model_kept:
            self._loaded = None
        if payload.kind == "model" or payload.while_loading:
            if self._loaded is not None:
                # The worker keeps the model it had; point the window back at it.
                self._set_model_source(self._loaded.source)
                self._show_loaded_model()
                message += f" Still using {self._loaded.name}."
            else:
                self.model_status.setText("No model loaded")
        if payload.completed:
            verb = "is" if payload.completed == 1 else "are"
            message += f" The {_images(payload.completed)} finished before that {verb} kept."
        self.banner.show_error(payload.title, message)
        if not self.worker.busy or payload.run_id is not None:
            self.run_status.idle(payload.title)

    def _on_cancelled(self, payload: RunCancelled) -> None:
        if payload.model_dropped:  # stopped mid-load: the status bar must not keep saying "Loading model…"
            self._loaded = None
            self.model_status.setText("No model loaded (the load was cancelled; the next run loads it)")
        # Cancel means "make no more": what was finished is shown and saved, and the bar says so.
        if payload.completed:
            self.run_status.idle(f"Cancelled after {payload.completed} of {_images(payload.num_images)} "
                                 "(the finished ones are kept)")
        else:
            self.run_status.idle("Cancelled")

    def _show_result_item(self, item: ResultItem) -> None:
        self.preview.show_image(item.image, f"seed {item.result.seed}")

    # ------------------------------------------------------------------------------------------
    # Settings
    def _restore_settings(self) -> None:
        s = self.settings
        if self.store.load_problem:
            self.banner.show_info(self.store.load_problem)
        if s.last_request:
            try:
                self.apply_request(session_request_from_dict(s.last_request))
            except InvalidRequest as exc:
                self.banner.show_info(f"The last session's settings could not be restored: {exc}")
        self.parameters.set_seed_mode(s.seed_mode)
        if s.last_model:
            self._set_model_source(s.last_model)
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(s.window_geometry.encode()))
        else:
            self.resize(1400, 900)
        if s.window_state:
            self.restoreState(QByteArray.fromBase64(s.window_state.encode()))
        for splitter in (self.work_splitter, self.main_splitter):
            sizes = s.splitter_sizes.get(splitter.objectName())
            # A hand-edited file may hold anything here; only pixel sizes Qt can take are used.
            if (isinstance(sizes, list) and len(sizes) == splitter.count()
                    and all(type(v) is int and 0 <= v < 2**24 for v in sizes)):
                splitter.setSizes(sizes)

    def save_settings(self) -> None:
        s = self.settings
        s.last_model = self._model_source
        s.device, s.precision = self._load_options.device, self._load_options.precision
        s.seed_mode = self.parameters.seed_mode_key()
        try:
            s.last_request = self.current_request().to_dict()
        except InvalidRequest:
            pass  # unreadable thresholds text: keep the last good request rather than lose everything
        s.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        s.window_state = bytes(self.saveState().toBase64()).decode()
        s.splitter_sizes = {sp.objectName(): sp.sizes() for sp in (self.work_splitter, self.main_splitter)}
        try:
            self.store.save(s)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

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


def _images(count: int) -> str:
    return f"{count} image{'s' if count != 1 else ''}"
