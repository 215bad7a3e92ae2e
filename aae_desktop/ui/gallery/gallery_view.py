"""The gallery panel (`galleryView`): thumbnails newest first, search and filters, settings of the
selected image, restore (all settings or seed only), star, delete to trash, open, copy."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aae_desktop.engine.events import GenerationResult, ImageResult
from aae_desktop.gallery.a1111 import format_parameters
from aae_desktop.gallery.index import GalleryEntry
from aae_desktop.gallery.metadata import PARAMETERS_CHUNK, read_text_chunks
from aae_desktop.gallery.paths import cache_dir
from aae_desktop.gallery.store import GalleryStore, SavedImage
from aae_desktop.ui.background import Background
from aae_desktop.ui.gallery.gallery_model import GalleryModel
from aae_desktop.ui.gallery.thumbnails import THUMB_SIZE, ThumbnailCache

ALL_MODELS = "All models"


class GalleryView(QWidget):
    restore_requested = Signal(object)  # GenerationRequest: "Use all settings"
    seed_requested = Signal(int)  # "Reuse seed"
    heatmaps_requested = Signal(str)  # image path: show its attention maps
    saved = Signal(object)  # list[SavedImage], once a result is on disk and indexed
    message = Signal(str)  # for the status bar: what happened, or why it could not
    problem = Signal(str)  # worth a banner: an index moved aside, images recovered or saved elsewhere
    folder_changed = Signal(str)  # the artist picked another gallery folder
    autosave_changed = Signal(bool)
    image_selected = Signal(str, str)  # path, caption: the window shows it large in its preview

    def __init__(self, store: GalleryStore, parent: QWidget | None = None, thumbnail_cache: Path | None = None):
        super().__init__(parent)
        self.setObjectName("galleryView")
        self.store = store
        self.autosave = True  # the checkbox (built below) mirrors this
        self._rescued: list[Path] = []  # images sent to the fallback folder since the gallery folder failed
        self._saved_this_run = 0  # images are saved one by one: the status counts the whole run's
        # Saving (PNG encoding, first-time model hashing) and resync touch the disk: never on the UI thread.
        self.background = Background(threads=1, parent=self)
        folder = thumbnail_cache if thumbnail_cache is not None else cache_dir() / "thumbnails"
        self.thumbnails = ThumbnailCache(folder, self)
        self.model = GalleryModel(store, self.thumbnails, self)
        self._build()
        self.model.refreshed.connect(self._after_refresh)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit(placeholderText="Search prompts…", objectName="gallerySearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self.model.set_filters(search=text))
        self.model_combo = QComboBox(objectName="galleryModelFilter")
        self.model_combo.addItem(ALL_MODELS)
        self.model_combo.currentTextChanged.connect(self._model_filter_changed)
        self.favourites = QCheckBox("★ only", objectName="galleryFavouritesOnly")
        self.favourites.toggled.connect(lambda on: self.model.set_filters(favourites_only=on))
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.model_combo)
        filters.addWidget(self.favourites)
        self.folder_button = QPushButton("Folder…", objectName="galleryFolderButton")
        self.folder_button.setToolTip("Choose the folder new images are saved in")
        self.folder_button.clicked.connect(self._choose_folder)
        filters.addWidget(self.folder_button)
        self.autosave_box = QCheckBox("Save every image", objectName="galleryAutosave", checked=True)
        self.autosave_box.setToolTip("Save each finished image (with its settings) into the gallery folder")
        self.autosave_box.toggled.connect(self.set_autosave)
        filters.addWidget(self.autosave_box)

        self.list = QListView(objectName="galleryList")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(THUMB_SIZE // 2 + 24, THUMB_SIZE // 2 + 24))
        self.list.setModel(self.model)
        self.list.selectionModel().currentChanged.connect(lambda *_: self._show_selected())
        self.list.doubleClicked.connect(lambda *_: self.open_full_size())
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)

        self.details = QPlainTextEdit(objectName="gallerySettings", readOnly=True)
        self.details.setPlaceholderText("Select an image to see its settings.")
        self.use_all = QPushButton("Use all settings", objectName="useAllSettingsButton")
        self.use_all.setToolTip("Restore prompt, negative prompt, selected words, seed and every parameter")
        self.use_all.clicked.connect(self.use_all_settings)
        self.reuse_seed = QPushButton("Reuse seed", objectName="reuseSeedButton")
        self.reuse_seed.clicked.connect(self.use_seed)
        self.star = QPushButton("☆ Star", objectName="galleryStarButton", checkable=True)
        self.star.clicked.connect(self.toggle_favourite)
        self.heatmaps = QPushButton("Heat maps", objectName="galleryHeatmapsButton")
        self.heatmaps.clicked.connect(self._heatmaps_clicked)
        self.delete = QPushButton("Delete", objectName="galleryDeleteButton")
        self.delete.setToolTip("Move the image to the system trash")
        self.delete.clicked.connect(self.delete_selected)
        self.more = QToolButton(objectName="galleryMoreButton", text="More ▾")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more_menu = QMenu(self.more)
        self.open_action = more_menu.addAction("Open full size", self.open_full_size)
        self.folder_action = more_menu.addAction("Open containing folder", self.open_folder)
        self.copy_action = more_menu.addAction("Copy image", self.copy_image)
        self.more.setMenu(more_menu)
        # Two rows of three: the details column sits beside the thumbnails, so it stays narrow.
        buttons = QGridLayout()
        for i, button in enumerate((self.use_all, self.reuse_seed, self.star, self.heatmaps, self.delete, self.more)):
            buttons.addWidget(button, i // 3, i % 3)
        self.status = QLabel(objectName="galleryStatus")

        details_box = QWidget()
        details_layout = QVBoxLayout(details_box)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.details)
        details_layout.addLayout(buttons)
        # Thumbnails and settings side by side keep the gallery short, leaving the preview its room.
        self.list.setMinimumHeight(72)  # one row of thumbnails
        self.details.setMinimumHeight(48)
        splitter = QSplitter(Qt.Orientation.Horizontal, objectName="gallerySplitter")
        splitter.addWidget(self.list)
        splitter.addWidget(details_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self._update_buttons(None)

    # -- loading --------------------------------------------------------------------------------
    def start(self) -> None:
        """Show what the index knows now, then resync with the folder in the background."""
        self.model.refresh()
        self._emit_notes()
        self.background.call(self.store.resync, self._resynced, self._report_error)

    def _emit_notes(self) -> None:
        notes = self.store.take_notes()
        if notes:
            self.problem.emit(" ".join(notes))

    def set_root(self, folder: str | Path) -> None:
        """Save into and list `folder` from now on (created when missing)."""
        self.store.root = Path(folder).expanduser()
        self.start()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Gallery folder", str(self.store.root))
        if folder:
            self.set_root(folder)
            self.folder_changed.emit(folder)

    def _resynced(self, _report) -> None:
        # Refresh even when this resync changed nothing: another process (the CLI, a second
        # window) may have brought the index up to date since our first listing.
        self.refresh()
        self._emit_notes()

    def refresh(self) -> None:
        selected = self.selected_entry()
        self.model.refresh()
        if selected is not None:
            self.select_path(selected.path)

    def _after_refresh(self) -> None:
        models = self.store.index.models()
        current = self.model_combo.currentText()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems([ALL_MODELS, *models])
        self.model_combo.setCurrentText(current if current in models else ALL_MODELS)
        self.model_combo.blockSignals(False)
        count = self.model.rowCount()
        self.status.setText(f"{count} image{'s' if count != 1 else ''} in {self.store.root}")
        self._show_selected()

    def _model_filter_changed(self, text: str) -> None:
        self.model.set_filters(model=None if text in ("", ALL_MODELS) else text)

    # -- saving ---------------------------------------------------------------------------------
    def set_autosave(self, on: bool) -> None:
        if on != self.autosave:
            self.autosave = on
            self.autosave_box.setChecked(on)
            self.autosave_changed.emit(on)

    def save_result(self, result: GenerationResult) -> None:
        """Save a finished generation in the background; `saved` fires when it is on disk."""
        if not self.autosave:
            return
        self.background.call(lambda: self.store.save_result(result), self._on_saved, self._report_save_error)

    def save_image(self, item: ImageResult) -> None:
        """Save one finished image in the background; `saved` fires (with a one-item list) when it is on disk."""
        if not self.autosave:
            return
        store = self.store

        def save() -> list[SavedImage]:
            return [store.save_image_result(item, hash_=store.model_hash(item.request.model))]

        self.background.call(save, self._on_saved, self._report_save_error)

    def _report_save_error(self, exc: Exception) -> None:
        """Neither the gallery folder nor the fallback folder took the image: say so loudly."""
        self._report_error(exc)
        self.problem.emit(f"An image could not be saved, neither in the gallery folder nor in the fallback folder "
                          f"({exc}). Choose another folder with Folder… before the next run.")

    def _on_saved(self, saved: list[SavedImage]) -> None:
        self.refresh()
        notes = self.store.take_notes()
        rescued_now = [s for s in saved if s.in_fallback]
        if any(not s.in_fallback for s in saved):
            self._rescued = []  # the gallery folder works again
        self._rescued += [s.path for s in rescued_now]
        if rescued_now and len(self._rescued) > 1:
            # One banner per image would leave only the last path on screen: name them all at once.
            notes = [n for n in notes if not any(str(s.path) in n for s in rescued_now)]
            names = ", ".join(p.name for p in self._rescued)
            notes.insert(0, f"The gallery folder {self.store.root} could not be written; {len(self._rescued)} images "
                            f"were saved to {self._rescued[-1].parent} instead: {names}.")
        if notes:
            self.problem.emit(" ".join(notes))
        self.saved.emit(saved)
        if saved:
            self._saved_this_run += len(saved)
            count = self._saved_this_run
            self.message.emit(f"Saved {count} image{'s' if count != 1 else ''} to {saved[0].path.parent}")

    def begin_run(self) -> None:
        """A new run (Generate, A/B, sweep) starts: its saves are counted from zero."""
        self._saved_this_run = 0

    def _report_error(self, exc: Exception | str) -> None:
        text = f"Gallery: {exc}"
        self.status.setText(text)
        self.message.emit(text)

    # -- selection and actions ------------------------------------------------------------------
    def selected_entry(self) -> GalleryEntry | None:
        index = self.list.currentIndex()
        return self.model.entry(index.row()) if index.isValid() else None

    def select_path(self, path: str | Path) -> bool:
        row = self.model.row_of(str(Path(path).resolve()))
        if row is None:
            return False
        self.list.setCurrentIndex(self.model.index(row))
        return True

    def _show_selected(self) -> None:
        entry = self.selected_entry()
        self._update_buttons(entry)
        if entry is None:
            self.details.clear()
            return
        caption = entry.name if entry.seed is None else f"seed {entry.seed} · {entry.name}"
        self.image_selected.emit(entry.path, caption)
        request = self._request_of(entry)
        if request is None:
            self.details.setPlainText(f"{entry.name}\n\nThis image carries no generation settings.")
        else:
            self.details.setPlainText(f"{entry.name}\n\n{self._settings_text(entry, request)}")

    @staticmethod
    def _settings_text(entry: GalleryEntry, request) -> str:
        """The file's own A1111 text (what other tools show; it names the sampler "Model default" was),
        or one made from the settings when the file has none or cannot be read now."""
        try:
            text = read_text_chunks(entry.path).get(PARAMETERS_CHUNK)
        except (ValueError, OSError):
            text = None
        return text or format_parameters(request)

    def _update_buttons(self, entry: GalleryEntry | None) -> None:
        has_request = entry is not None and entry.request_json is not None
        self.use_all.setEnabled(has_request)
        self.reuse_seed.setEnabled(entry is not None and entry.seed is not None)
        self.heatmaps.setEnabled(entry is not None)
        self.delete.setEnabled(entry is not None)
        self.star.setEnabled(entry is not None)
        self.more.setEnabled(entry is not None)
        self.star.setChecked(bool(entry and entry.favourite))
        self.star.setText("★ Starred" if entry and entry.favourite else "☆ Star")

    def _request_of(self, entry: GalleryEntry):
        try:
            return entry.request
        except Exception as exc:  # a file edited by hand: say so instead of failing
            self.message.emit(f"{entry.name}: its settings cannot be read ({exc}).")
            return None

    def use_all_settings(self) -> None:
        entry = self.selected_entry()
        request = self._request_of(entry) if entry else None
        if request is not None:
            self.restore_requested.emit(request)
            self.message.emit(f"Restored all settings from {entry.name}")

    def use_seed(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry.seed is not None:
            self.seed_requested.emit(int(entry.seed))
            self.message.emit(f"Seed {entry.seed} restored")

    def toggle_favourite(self) -> None:
        index = self.list.currentIndex()
        entry = self.selected_entry()
        if entry is not None:
            try:
                self.model.set_favourite(index.row(), not entry.favourite)
            except OSError as exc:  # the star is a file beside the image: a read-only folder refuses it
                self._report_error(f"the star of {entry.name} could not be saved beside it ({exc.strerror or exc})")
            self._show_selected()

    def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        row = self.list.currentIndex().row()
        try:
            self.store.delete(entry.path)
        except OSError as exc:
            self._report_error(exc)
            return
        self.thumbnails.forget(entry.path, entry.mtime_ns)
        self.model.refresh()
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
        self.message.emit(f"Moved {entry.name} to the trash")

    def _heatmaps_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.heatmaps_requested.emit(entry.path)

    def open_full_size(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(entry.path))

    def open_folder(self) -> None:
        entry = self.selected_entry()
        folder = Path(entry.path).parent if entry else self.store.root
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def copy_image(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        image = QImage(entry.path)
        if image.isNull():
            self._report_error(OSError(f"{entry.name} could not be read"))
            return
        QGuiApplication.clipboard().setImage(image)
        self.message.emit(f"Copied {entry.name} to the clipboard")

    def _context_menu(self, pos) -> None:
        if not self.list.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        for text, slot in (("Use all settings", self.use_all_settings), ("Reuse seed", self.use_seed),
                           ("Star / unstar", self.toggle_favourite), ("Heat maps", self._heatmaps_clicked),
                           ("Open full size", self.open_full_size), ("Open containing folder", self.open_folder),
                           ("Copy image", self.copy_image), ("Move to trash", self.delete_selected)):
            menu.addAction(text, slot)
        menu.exec(self.list.viewport().mapToGlobal(pos))
