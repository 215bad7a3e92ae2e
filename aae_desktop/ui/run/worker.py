"""The generation worker: one long-lived QThread that owns the loaded model and runs requests."""
from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from aae_desktop.engine.errors import GenerationCancelled, ModelLoadError
from aae_desktop.engine.model_handle import ModelHandle
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.ui.run.engine_port import Engine
from aae_desktop.ui.image_convert import pil_to_qimage
from aae_desktop.ui.run.failure_text import describe_failure as _describe_failure
from aae_desktop.ui.run.step_throttle import PREVIEW_INTERVAL_S, PROGRESS_INTERVAL_S  # noqa: F401 (re-exported)
from aae_desktop.ui.run.step_throttle import StepThrottle as _StepThrottle
from aae_desktop.ui.run.step_throttle import progress_of as _progress  # noqa: F401 (tests read it here)
from aae_desktop.ui.run.worker_events import (
    ImageFinished,
    ModelLoadStarted,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    TokenizerLoaded,
)

log = logging.getLogger(__name__)


class GenerationWorker(QObject):
    """Lives on the worker thread; every slot runs there. Talks to the UI only through signals."""

    started = Signal(object)  # RunStarted
    model_load_started = Signal(object)  # ModelLoadStarted
    model_loaded = Signal(object)  # ModelHandle (engine/model_handle.py), its load's seconds filled in
    tokenizer_loaded = Signal(object)  # TokenizerLoaded
    progressed = Signal(object)  # Progress
    preview_ready = Signal(object)  # PreviewImage
    image_finished = Signal(object)  # ImageFinished, once per image, as soon as it is decoded
    finished = Signal(object)  # RunFinished
    failed = Signal(object)  # RunFailed
    cancelled = Signal(object)  # RunCancelled

    def __init__(self, engine: Engine):
        super().__init__()
        self._engine = engine
        self._model: ModelHandle | None = None
        self._model_key: tuple[str, LoadOptions] | None = None

    # -- slots (queued from the UI thread) ---------------------------------------------------------
    @Slot()
    def load_tokenizer(self) -> None:
        try:
            tokenizer = self._engine.load_tokenizer()
        except Exception as exc:  # the app still works without word chips; say why they are missing
            log.exception("tokenizer failed to load")
            self.failed.emit(RunFailed(None, "engine", "Tokenizer unavailable", f"Words cannot be shown: {exc}"))
            return
        self.tokenizer_loaded.emit(TokenizerLoaded(tokenizer))

    @Slot(object, object)
    def load_model(self, source: str, options: LoadOptions) -> None:
        try:
            self._ensure_model(source, options)
        except Exception as exc:
            self.failed.emit(self._load_failure(None, exc))

    @Slot(object)
    def run(self, job: "_Job") -> None:
        if job.cancel.is_set():  # cancelled while it waited in the queue
            self.cancelled.emit(RunCancelled(job.run_id, 0, job.request.num_images))
            return
        self.started.emit(RunStarted(job.run_id, job.request))
        handed_out: list[Any] = []

        def hand_out(item: Any) -> None:
            # Each image leaves the worker as soon as it exists, so the window can show and save it
            # while the next one renders: a cancel or a failure later in the batch cannot lose it.
            handed_out.append(item)
            self.image_finished.emit(ImageFinished(job.run_id, len(handed_out) - 1, job.request.num_images, item,
                                                   pil_to_qimage(item.image)))

        try:
            self._ensure_model(job.request.model, job.options)
        except GenerationCancelled:  # the load was stopped at once (a second Cancel): a cancel, not a failure
            self.cancelled.emit(RunCancelled(job.run_id, 0, job.request.num_images, model_dropped=True))
            return
        except Exception as exc:
            self.failed.emit(self._load_failure(job.run_id, exc))
            return
        try:
            if job.cancel.is_set():
                raise GenerationCancelled("Cancelled before the first step.")
            throttle = _StepThrottle(self, job.run_id)
            result = self._engine.generate(self._model, job.request, throttle, job.cancel, on_image=hand_out)
        except GenerationCancelled:
            self.cancelled.emit(RunCancelled(job.run_id, len(handed_out), job.request.num_images))
            return
        except Exception as exc:
            failure = _describe_failure(job.run_id, exc)
            self.failed.emit(dataclasses.replace(failure, completed=len(handed_out)))
            return
        for item in result.images[len(handed_out):]:  # an engine that does not hand images out one by one
            hand_out(item)
        images = tuple(pil_to_qimage(r.image) for r in result.images)
        self.finished.emit(RunFinished(job.run_id, result, images))

    @Slot()
    def release(self) -> None:
        """Drop the model so its memory goes back (before the next load, or before the thread ends)."""
        self._model = None
        self._model_key = None
        self._engine.unload()

    @Slot()
    def shut_down(self) -> None:
        """The window is closing: free the model and end an engine process."""
        self.release()
        self._engine.close()

    # -- helpers --------------------------------------------------------------------------------
    def _load_failure(self, run_id: int | None, exc: BaseException) -> RunFailed:
        return _describe_failure(run_id, exc, while_loading=True, model_kept=self._model is not None)

    def _ensure_model(self, source: str, options: LoadOptions) -> None:
        if not source:
            raise ModelLoadError("No model is chosen yet: open one from the Model menu.")
        key = (source, options)
        if self._model is not None and self._model_key == key:
            return
        self.model_load_started.emit(ModelLoadStarted(source))
        began = time.monotonic()
        self._engine.check(source, options)  # a wrong file or family fails here, with the current model still loaded
        previous = self._model_key if self._model is not None else None
        # Free the current model first, so a device that holds one model can switch to another.
        self.release()
        self._free_memory(previous[1] if previous is not None else options)
        failure: Exception | None = None
        model: ModelHandle | None = None
        try:
            model = self._engine.load(source, options)
        except Exception as exc:
            failure = exc
        if isinstance(failure, GenerationCancelled):
            # Stopped on purpose: nothing to report, and no model to bring back (that was the point).
            log.info("loading %s was stopped: %s", source, failure)
            raise failure
        if failure is not None:
            log.info("loading %s failed", source, exc_info=failure)
            # The failed model's partly loaded weights are referenced from the traceback: let them go
            # before the previous model comes back from disk.
            _forget_frames(failure)
            self._free_memory(options)
            if previous is not None:
                self._restore(previous)
            raise failure
        self._model, self._model_key = model, key
        self.model_loaded.emit(dataclasses.replace(model, seconds=time.monotonic() - began))

    def _restore(self, previous: tuple[str, LoadOptions]) -> None:
        """Reload the model that was freed for the one that failed (the window still shows it).
        If that fails too, no model is loaded and the failure says so (RunFailed.model_kept)."""
        try:
            self._model = self._engine.load(*previous)
            self._model_key = previous
        except Exception as exc:
            log.error("the previous model could not be reloaded", exc_info=exc)

    def _free_memory(self, options: LoadOptions) -> None:
        self._engine.free_memory(options)


def _forget_frames(exc: BaseException) -> None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


class _Job:
    __slots__ = ("run_id", "request", "options", "cancel")

    def __init__(self, run_id: int, request: GenerationRequest, options: LoadOptions):
        self.run_id = run_id
        self.request = request
        self.options = options
        self.cancel = threading.Event()


class WorkerController(QObject):
    """Owns the thread and the worker; the UI's only door to them. Lives on the UI thread, so
    everything connected to its signals runs there, lambdas included."""

    started = Signal(object)
    model_load_started = Signal(object)
    model_loaded = Signal(object)
    tokenizer_loaded = Signal(object)
    progressed = Signal(object)
    preview_ready = Signal(object)
    image_finished = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(object)
    busy_changed = Signal(bool)

    _tokenizer_wanted = Signal()
    _load_wanted = Signal(object, object)
    _run_wanted = Signal(object)
    _shutdown_wanted = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("GenerationWorkerThread")
        self._engine = engine
        self._worker = GenerationWorker(engine)
        self._worker.moveToThread(self._thread)
        self._ids = itertools.count(1)
        self._job: _Job | None = None
        w = self._worker
        w.started.connect(self.started)
        w.model_load_started.connect(self.model_load_started)
        w.model_loaded.connect(self.model_loaded)
        w.tokenizer_loaded.connect(self.tokenizer_loaded)
        w.progressed.connect(self.progressed)
        w.preview_ready.connect(self.preview_ready)
        w.image_finished.connect(self.image_finished)
        # The end-of-run signals pass through the controller so that `busy` is already False
        # when anyone hears them (a listener may submit the next run straight away).
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._tokenizer_wanted.connect(self._worker.load_tokenizer)
        self._load_wanted.connect(self._worker.load_model)
        self._run_wanted.connect(self._worker.run)
        self._shutdown_wanted.connect(self._worker.shut_down)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def current_run_id(self) -> int | None:
        return self._job.run_id if self._job else None

    @property
    def current_request(self) -> GenerationRequest | None:
        """What the run in progress runs (its model among it); None when idle."""
        return self._job.request if self._job else None

    def load_tokenizer(self) -> None:
        self._tokenizer_wanted.emit()

    def load_model(self, source: str, options: LoadOptions) -> None:
        self._load_wanted.emit(source, options)

    def submit(self, request: GenerationRequest, options: LoadOptions) -> int:
        """Queue a run; returns its id. One run at a time: the UI disables Generate while busy."""
        if self._job is not None:
            raise RuntimeError("A generation is already running.")
        self._job = _Job(next(self._ids), request, options)
        self._run_wanted.emit(self._job)
        self.busy_changed.emit(True)
        return self._job.run_id

    def cancel(self) -> bool:
        """Returns at once; the worker notices before its next UNet call and emits `cancelled`.

        Called again while that cancel is still pending, it ends an engine process at once: one UNet
        call on a huge image can take minutes on a CPU. The images finished before are already out.
        True when it did so.
        """
        job = self._job
        if job is None:
            return False
        if job.cancel.is_set() and self.can_stop_at_once:
            self._engine.kill()
            return True
        job.cancel.set()
        return False

    @property
    def can_stop_at_once(self) -> bool:
        """Whether a second cancel can end the engine (one in its own process can be killed)."""
        return self._engine.can_stop_at_once

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel any run, stop the thread and end an engine process. True when the thread has ended."""
        self.cancel()
        if not self._thread.isRunning():
            self._close_engine()
            return True
        self._shutdown_wanted.emit()
        self._thread.quit()
        ended = self._thread.wait(timeout_ms)
        if not ended and self._engine.can_stop_at_once:  # an engine in its own process can be stopped mid-load
            self._engine.kill()
            ended = self._thread.wait(timeout_ms)
        if not ended:
            # A model load cannot be interrupted; destroying a running QThread would abort the app.
            log.warning("worker still busy after %d ms; waiting for it to finish", timeout_ms)
            ended = self._thread.wait()
        self._close_engine()
        return ended

    def _close_engine(self) -> None:
        # The thread's event loop may end before the queued shut_down slot runs; with the thread
        # stopped, nothing else uses the engine, so closing it from here is safe (and idempotent).
        self._engine.close()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    @Slot(object)
    def _on_finished(self, payload: RunFinished) -> None:
        self._end_run(payload.run_id)
        self.finished.emit(payload)

    @Slot(object)
    def _on_failed(self, payload: RunFailed) -> None:
        self._end_run(payload.run_id)
        self.failed.emit(payload)

    @Slot(object)
    def _on_cancelled(self, payload: RunCancelled) -> None:
        self._end_run(payload.run_id)
        self.cancelled.emit(payload)

    def _end_run(self, run_id: int | None) -> None:
        if self._job is not None and run_id == self._job.run_id:
            self._job = None
            self.busy_changed.emit(False)
