"""How the main window shows what the worker reports: model loads, progress, previews, finished
images, failures and cancels. A mixin of MainWindow (which owns the widgets and the session), kept
apart so the window's own module is its layout and its actions."""
from __future__ import annotations

from pathlib import Path

from aae_desktop.engine.errors import InvalidRequest, worded
from aae_desktop.engine.events import GenerationResult
from aae_desktop.engine.models.families import FAMILIES, family_label
from aae_desktop.engine.model_handle import ModelHandle
from aae_desktop.ui.iterate.result_strip import ResultStrip
from aae_desktop.ui.run.run_status import image_caption
from aae_desktop.ui.run.worker_events import (
    ImageFinished,
    ModelLoadStarted,
    PreviewImage,
    Progress,
    RunCancelled,
    RunFailed,
    RunFinished,
    TokenizerLoaded,
)


class WorkerEventBinding:
    """The worker's events (all arrive on the UI thread through the controller), shown in the window."""

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

    def _on_model_loaded(self, payload: ModelHandle) -> None:
        notes = self.session.model_loaded(payload)
        self._show_loaded_model()
        if payload.family in FAMILIES:
            # Size presets, default size and guidance follow the family; the prompt and chosen words stay.
            self.parameters.set_family(FAMILIES[payload.family])
        self.parameters.set_model_sampler(payload.scheduler_class)
        if not self.worker.busy:
            self.run_status.idle(f"Model ready ({payload.seconds:.1f} s)")
        elif notes:  # the run it was loaded for has not started yet: a long CPU render's estimate
            self.banner.show_info(" ".join(notes))
        if payload.tokenizer is not None and payload.tokenizer is not self.prompt_editor.tokenizer:
            self.prompt_editor.set_tokenizer(payload.tokenizer)

    def _show_loaded_model(self) -> None:
        m = self.session.loaded
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
            self.session.model_dropped()
        if payload.kind == "model" or payload.while_loading:
            if self.session.loaded is not None:
                # The worker keeps the model it had; point the window back at it.
                self._set_model_source(self.session.loaded.source)
                self._show_loaded_model()
                message += f" Still using {self.session.loaded.name}."
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
            self.session.model_dropped()
            self.model_status.setText("No model loaded (the load was cancelled; the next run loads it)")
        # Cancel means "make no more": what was finished is shown and saved, and the bar says so.
        if payload.completed:
            self.run_status.idle(f"Cancelled after {payload.completed} of {_images(payload.num_images)} "
                                 "(the finished ones are kept)")
        else:
            self.run_status.idle("Cancelled")


def _images(count: int) -> str:
    return f"{count} image{'s' if count != 1 else ''}"
