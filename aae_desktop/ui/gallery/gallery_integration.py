"""Puts the gallery and the iteration tools into the main window and wires them to it.

The bottom slot becomes tabs: Gallery, A/B, Seed sweep, Heat maps. Finished runs are autosaved and
their heat maps shown; gallery restores go to MainWindow.apply_request / apply_seed; PNGs dropped
on the window restore what they carry.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QTabWidget, QVBoxLayout, QWidget

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.events import GenerationResult
from aae_desktop.gallery.grid import save_grid
from aae_desktop.gallery.png_files import FolderUnusable
from aae_desktop.gallery.store import GalleryStore
from aae_desktop.ui.iterate.ab_view import ABView, a_side
from aae_desktop.ui.gallery.gallery_menu import GalleryMenu
from aae_desktop.ui.gallery.gallery_view import GalleryView
from aae_desktop.ui.iterate.heatmap_view import HeatmapView
from aae_desktop.ui.image_convert import pil_to_qimage
from aae_desktop.ui.iterate.iteration_runs import MAX_SWEEP, ABPair, IterationRunner
from aae_desktop.ui.gallery.png_drop import PngDropHandler
from aae_desktop.ui.iterate.seed_grid import SeedGridView
from aae_desktop.ui.run.run_session import RunRefused

if TYPE_CHECKING:  # the window these panels live in (typed, not imported at run time)
    from aae_desktop.ui.main_window import MainWindow


class GalleryIntegration:
    """Owns the gallery-side widgets of one main window (kept alive as window.gallery)."""

    def __init__(self, window: "MainWindow", store: GalleryStore | None = None):
        self.window = window
        settings = window.settings
        self.store = store or GalleryStore(getattr(settings, "gallery_dir", "") or None)
        self.gallery = GalleryView(self.store)
        self.gallery.set_autosave(getattr(settings, "autosave", True))
        self.ab = ABView()
        self.grid = SeedGridView()
        self.heatmaps = HeatmapView()
        self.runner = IterationRunner(window.worker, lambda: window.session.load_options)
        self.tabs = QTabWidget(objectName="resultsTabs")
        self.tabs.addTab(self.gallery, "Gallery")
        self.tabs.addTab(self._with_button(self.ab, "Render A/B", "abRunButton", self.run_ab), "A/B")
        self.sweep_count = QSpinBox(objectName="sweepCount", minimum=2, maximum=MAX_SWEEP, value=4)
        self.tabs.addTab(self._with_button(self.grid, "Render seed sweep", "sweepRunButton", self.run_sweep,
                                           self.sweep_count), "Seed sweep")
        self.tabs.addTab(self.heatmaps, "Heat maps")
        self.drop = PngDropHandler(window, current_model=lambda: window.model_source,
                                   tokenizer=lambda: window.prompt_editor.tokenizer)
        self._connect()
        window.session.run_checks.append(self.check_folder)
        window.set_gallery_widget(self.tabs)
        self._default_split(window)
        window.gallery = self
        self.gallery.start()
        self.menu = GalleryMenu(window, self.gallery)
        self.menu.prune_thumbnails()

    def _default_split(self, window: "MainWindow") -> None:
        """First launch: the preview keeps about 70% of the height; sizes the artist dragged are kept."""
        saved = getattr(window.settings, "splitter_sizes", {}).get(window.main_splitter.objectName())
        sizes = window.main_splitter.sizes()
        total = sum(sizes)
        if saved or len(sizes) != 2 or total <= 0:
            return
        gallery = max(self.tabs.minimumSizeHint().height(), int(total * 0.3))
        window.main_splitter.setSizes([max(total - gallery, 1), gallery])

    @staticmethod
    def _with_button(widget: QWidget, text: str, name: str, slot, *extra: QWidget) -> QWidget:
        box = QWidget()
        row = QHBoxLayout()
        for item in extra:
            row.addWidget(QLabel("Seeds:"))
            row.addWidget(item)
        button = QPushButton(text, objectName=name)
        button.clicked.connect(slot)
        row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(widget, 1)
        return box

    def _connect(self) -> None:
        w = self.window
        w.image_ready.connect(self.on_image)
        w.worker.started.connect(lambda _event: self.gallery.begin_run())
        w.results_ready.connect(self.on_results)
        w.close_hooks.append(lambda: self.gallery.background.wait(60_000))
        self.gallery.restore_requested.connect(self._restore)
        self.gallery.seed_requested.connect(w.apply_seed)
        self.gallery.heatmaps_requested.connect(self._show_heatmaps_of_file)
        self.gallery.image_selected.connect(self._preview_file)
        self.gallery.message.connect(lambda text: w.statusBar().showMessage(text, 8000))
        self.gallery.problem.connect(w.banner.show_info)
        self.gallery.saved.connect(self.grid.set_saved_paths)
        self.gallery.folder_changed.connect(self._folder_changed)
        self.gallery.autosave_changed.connect(lambda on: setattr(self.window.settings, "autosave", on))
        self.grid.open_in_gallery.connect(self.show_in_gallery)
        self.grid.save_requested.connect(self.save_grid)
        self.runner.ab_ready.connect(self._show_ab)
        self.runner.sweep_ready.connect(self._show_sweep)
        self.runner.failed.connect(lambda text: w.banner.show_error("Iteration tool", text))
        self.drop.restored.connect(self._dropped)
        self.drop.failed.connect(lambda text: w.banner.show_error("Nothing to restore", text))

    # -- results ------------------------------------------------------------------------------------
    def on_image(self, item) -> None:
        """Save each image as soon as it is finished, not when the whole batch is."""
        # The words behind the token indices go into the A1111 text ("AAE tokens") for other tools.
        self.store.tokenizer = self.window.prompt_editor.tokenizer
        self.gallery.save_image(item)

    def on_results(self, result: GenerationResult) -> None:
        # A plain-SD run (the B half of an A/B) has no maps: keep showing the last one that had.
        with_maps = [item for item in result.images if item.attention_maps]
        if with_maps:
            self.heatmaps.show_result(with_maps[0], self.window.prompt_editor.tokenizer)

    def _preview_file(self, path: str, caption: str) -> None:
        image = QImage(path)  # one PNG decode (milliseconds); thumbnails stay off the UI thread
        if not image.isNull():
            self.window.preview.show_image(image, caption)

    def _show_heatmaps_of_file(self, path: str) -> None:
        self.heatmaps.show_file(path, self.window.prompt_editor.tokenizer)
        self.tabs.setCurrentWidget(self.heatmaps)

    def show_in_gallery(self, path: str) -> None:
        self.gallery.search.clear()
        self.gallery.favourites.setChecked(False)
        self.gallery.model_combo.setCurrentIndex(0)
        self.gallery.refresh()
        self.gallery.select_path(path)
        self.tabs.setCurrentWidget(self.gallery)

    # -- restore ------------------------------------------------------------------------------------
    def _restore(self, request) -> None:
        # "Use all settings" restores the selected entry; one listed without a seed had none usable
        # (gallery.index), and its request's seed is only the default.
        entry = self.gallery.selected_entry()
        self.window.apply_request(request, seed_known=entry is None or entry.seed is not None)

    def _dropped(self, request, source: str, seed_known: bool = True) -> None:
        self.window.apply_request(request, seed_known=seed_known)
        what = "all settings" if source == "aae" else "the A1111 parameters (Attend-and-Excite words not included)"
        self.window.statusBar().showMessage(f"Restored {what} from the dropped image", 8000)

    def _folder_changed(self, folder: str) -> None:
        self.window.settings.gallery_dir = folder

    # -- iteration tools ------------------------------------------------------------------------------
    def _request(self):
        """The window's request for an A/B or sweep, prepared by the session as Generate's is."""
        window = self.window
        try:
            prepared = window.session.prepare(window.current_request(for_run=True), window.prompt_editor.tokenizer,
                                              window.field_labels())
        except InvalidRequest as exc:  # text a box cannot read (thresholds)
            window.banner.show_error("Check the settings", exc.message_for(window.field_labels()))
            window.parameters.focus_field(exc.field)
            return None
        except RunRefused as refused:
            window.banner.show_error(refused.title, refused.message)
            window.parameters.focus_field(refused.field)
            return None
        if prepared.notes:  # warnings, and a long CPU render's estimate, as for Generate
            window.banner.show_info(" ".join(prepared.notes))
        window.parameters.show_seed_used(prepared.request.seed)  # a seed drawn for this run shows once it runs
        return prepared.request

    def check_folder(self, _request) -> tuple[str, str] | None:
        """Before a run: the images it makes must have somewhere to go."""
        if not self.gallery.autosave:
            return None
        try:
            self.store.check_writable()
        except FolderUnusable as exc:
            return ("Gallery folder", f"{exc} Choose another folder (Gallery ▸ Folder…) or switch off "
                                      "“Save every image”.")
        return None

    def run_ab(self) -> None:
        request, kind = self._request(), self.ab.comparison_kind()
        if request is not None and self.runner.start_ab(request, kind):
            self.window.run_status.busy(f"A/B: {a_side(kind)}…")

    def run_sweep(self) -> None:
        request = self._request()
        if request is not None and self.runner.start_sweep(request, self.sweep_count.value()):
            self.window.run_status.busy(f"Seed sweep: {self.sweep_count.value()} seeds…")

    def _show_ab(self, pair: ABPair) -> None:
        tokenizer = self.window.prompt_editor.tokenizer
        words = ""
        if tokenizer is not None:
            from aae_desktop.gallery.metadata import excited_words

            words = ", ".join(excited_words(pair.with_excite.request, tokenizer))
        with_excite = pil_to_qimage(pair.with_excite.images[0].image)
        self.ab.set_pair(with_excite, pil_to_qimage(pair.without.images[0].image), pair.seed, words, pair.kind)
        self.tabs.setCurrentIndex(1)
        # The big preview and the progress bar speak for the whole A/B, not for its plain half.
        self.window.preview.show_image(with_excite, f"A/B · seed {pair.seed} · {a_side(pair.kind)} "
                                                    f"(the A/B tab shows both)")
        total = pair.with_excite.elapsed + pair.without.elapsed
        self.window.run_status.done(f"A/B done in {total:.1f} s (both renders)")

    def _show_sweep(self, result: GenerationResult) -> None:
        self.grid.set_result(result)
        self.tabs.setCurrentIndex(2)

    def save_grid(self) -> None:
        if self.grid.result is None:
            return
        images, request = self.grid.images(), self.grid.result.request
        self.gallery.background.call(lambda: save_grid(self.store, images, request),
                                     lambda path: (self.gallery.refresh(),
                                                   self.window.statusBar().showMessage(f"Saved grid {path}", 8000)),
                                     lambda exc: self.window.banner.show_error("Grid not saved", str(exc)))


def install_gallery(window: "MainWindow", store: GalleryStore | None = None) -> GalleryIntegration:
    return GalleryIntegration(window, store)
