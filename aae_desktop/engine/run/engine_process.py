"""The engine in a process of its own, so the window's process never shares its Python lock with a render.

Why a process and not only a thread: a render runs Python for every UNet layer and refinement step
(diffusers' modules, our attention processors), and Python lets one thread run at a time. In the
window's process the UI thread then waits for the lock at every event it handles in Python --
timer ticks, paints of our widgets, progress slots -- and on a busy 2-core machine those waits add
up to visible stutter (tens to hundreds of milliseconds). In a child process the render has its own
interpreter; the window's worker thread only waits on a pipe.

Protocol: the frozen dataclasses of process_messages.py, pickled over a multiprocessing Pipe, one
request at a time. The child greets with Hello (its protocol version); each request then gets its one
answer (Check -> Checked, Load -> Loaded, Unload -> Unloaded, Generate -> Done after Step and
ImageDone events) or Failed; Quit ends the child. An answer to another question is a ProtocolError.
Cancel is a multiprocessing Event the child's generate() checks before every UNet call.
No Qt here: the window's engine port (ui/run/engine_port.py) wraps this.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from aae_desktop.engine import process_messages as messages
from aae_desktop.engine.errors import EngineError, GenerationCancelled, ModelLoadError
from aae_desktop.engine.model_handle import ModelHandle, handle_for
from aae_desktop.engine.process_messages import (
    Check,
    Checked,
    Done,
    Failed,
    Generate,
    Handshake,
    ImageDone,
    Load,
    Loaded,
    ProtocolError,
    Question,
    Quit,
    Step,
    Unload,
    Unloaded,
)

if TYPE_CHECKING:  # the window imports this module at start-up: keep it light
    from aae_desktop.engine.events import GenerationResult, StepEvent
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.engine.request import GenerationRequest

# How often the waiting parent looks at its cancel event while no message arrives.
POLL_S = 0.05


class EngineProcess:
    """Parent side: starts the child on first use and restarts it if it dies."""

    def __init__(self) -> None:
        self._process: Any = None
        self._conn: Any = None
        self._cancel: Any = None
        # The model the running child holds, as (source, options): a new child (after a crash or a
        # stop at once) holds none, and the next generate loads the model again by itself.
        self._holds: tuple[str, LoadOptions] | None = None
        self._lock = threading.Lock()  # one request at a time, whatever thread asks
        # Set by kill(): the child's death that follows was asked for (a second Cancel), not a crash,
        # whatever request was waiting on it -- a model load included.
        self._stopped_on_purpose = False

    # -- process ----------------------------------------------------------------------------------
    def _ensure_process(self, cancel: threading.Event | None = None) -> None:
        """A running child that speaks this protocol version (its Hello is read here)."""
        if self._process is not None and self._process.is_alive():
            return
        self._drop_process()
        # Kept only once the child runs: a failed start must leave no half-made process for close().
        self._process, self._conn, self._cancel = self._start_child()
        self._stopped_on_purpose = False
        hello = self._answer(Handshake(), None, cancel)
        try:
            messages.check_hello(hello)
        except ProtocolError:
            self._drop_process()
            raise

    def _start_child(self) -> tuple[Any, Any, Any]:
        """Start a child; returns it, the parent's end of its pipe and its cancel event."""
        # "spawn" everywhere: forking a process that runs Qt and torch threads is unsafe.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        cancel = context.Event()
        process = context.Process(target=serve, args=(child, cancel), name="aae-engine", daemon=True)
        try:
            process.start()
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        return process, parent, cancel

    def _drop_process(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._process = self._conn = None
        self._holds = None

    def close(self) -> None:
        """Ask the child to exit (it frees the model); terminate it if it does not."""
        with self._lock:
            if self._process is None:
                return
            try:
                self._conn.send(Quit())
                self._process.join(5)
            except (OSError, EOFError, BrokenPipeError):
                pass
            self._drop_process()

    def kill(self) -> None:
        """End the child now, from any thread, even mid-load (a waiting request then fails at once)."""
        process = self._process
        if process is not None and process.is_alive():
            self._stopped_on_purpose = True
            process.terminate()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- requests ---------------------------------------------------------------------------------
    def check(self, source: str, options: LoadOptions) -> None:
        """Raise what loading `source` would raise before reading any weights (models.check_source),
        with the current model still loaded in the child."""
        with self._lock:
            self._ensure_process()
            self._ask(Check(source, options))

    def unload(self) -> None:
        """Drop the child's model and give its memory back to the device; the process stays, so the
        next load does not pay for a new interpreter and torch import."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                return
            self._holds = None
            self._ask(Unload())

    def load(self, source: str, options: LoadOptions) -> ModelHandle:
        with self._lock:
            self._ensure_process()
            self._holds = None  # the child drops its model before loading the next
            loaded: Loaded = self._ask(Load(source, options))
            self._holds = (source, options)
            return loaded.model

    def generate(self, model: ModelHandle, request: GenerationRequest, on_step: Callable[[StepEvent], None] | None,
                 cancel: threading.Event | None, preview_interval_s: float = 0.25,
                 on_image: Callable[[Any], None] | None = None) -> GenerationResult:
        """As engine.generate: step events to on_step, each finished image to on_image (so it can be
        saved before the batch ends), the engine's own exceptions raised here."""
        with self._lock:
            if self._process is None or not self._process.is_alive() or self._holds != (model.source, model.options):
                # The process that held the model is gone (it crashed, or was stopped at once): load it again.
                self._ensure_process(cancel)
                self._ask(Load(model.source, model.options), cancel=cancel)
                self._holds = (model.source, model.options)
            self._cancel.clear()
            done: Done = self._ask(Generate(request, preview_interval_s), on_step, cancel, on_image)
            return done.result

    def _ask(self, question: Question, on_step: Callable[[StepEvent], None] | None = None,
             cancel: threading.Event | None = None, on_image: Callable[[Any], None] | None = None) -> Any:
        self._conn.send(question)
        return self._answer(question, on_step, cancel, on_image)

    def _answer(self, question: Question, on_step: Callable[[StepEvent], None] | None, cancel: threading.Event | None,
                on_image: Callable[[Any], None] | None = None) -> Any:
        """Wait for the child's answer to `question`, passing step events on and cancel in."""
        while True:
            try:
                ready = self._conn.poll(POLL_S)
            except (OSError, EOFError):
                ready = True  # let recv() raise the real error below
            if cancel is not None and cancel.is_set():
                self._cancel.set()
            if not ready:
                if not self._process.is_alive():
                    raise self._died(asked_to_stop=cancel is not None and cancel.is_set())
                continue
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                raise self._died(asked_to_stop=cancel is not None and cancel.is_set()) from None
            try:
                messages.check_answer(question, message)
            except ProtocolError:
                self._drop_process()  # the conversation is out of step: the next request starts a new child
                raise
            match message:
                case Step(event):
                    if on_step is not None:
                        on_step(event)
                case ImageDone(image):
                    if on_image is not None:
                        on_image(image)
                case Failed(error):
                    raise error
                case _:  # the answer check_answer let through
                    return message

    def _died(self, asked_to_stop: bool = False) -> EngineError:
        self._process.join(1)
        code = self._process.exitcode
        asked_to_stop = asked_to_stop or self._stopped_on_purpose
        self._drop_process()
        if asked_to_stop:  # kill() after a cancel: the artist asked to stop at once, nothing went wrong
            return GenerationCancelled("Stopped at once; the next run reloads the model.")
        return EngineError(f"The engine process stopped unexpectedly (exit code {code}); the next run starts "
                           "it again and reloads the model.")


# -- child side ---------------------------------------------------------------------------------------

class _ChildSteps:
    """The child's on_step: forwards every event; previews only as often as the window shows them."""

    def __init__(self, conn: Any, preview_interval_s: float):
        self._conn = conn
        self._interval = preview_interval_s
        self._last_preview = 0.0

    def wants_preview(self) -> bool:
        return time.monotonic() - self._last_preview >= self._interval

    def __call__(self, event: StepEvent) -> None:
        if event.preview is not None:
            self._last_preview = time.monotonic()
        self._conn.send(Step(event))


def serve(conn: Any, cancel: Any) -> None:
    """The engine process's main loop (the target of the spawned process)."""
    _no_named_semaphores()
    conn.send(messages.Hello(messages.PROTOCOL_VERSION))
    model = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the window went away
        if isinstance(message, Quit):
            return
        try:
            if isinstance(message, (Load, Unload)):
                # The old model goes first (here, so a failed load leaves none held), so a device that
                # holds one model can switch to another.
                model = _unload(model)
            model, answer = _serve_one(message, model, conn, cancel)
            conn.send(answer)
        except (EOFError, OSError, BrokenPipeError):
            return
        except BaseException as exc:  # every failure goes back to the window as the engine raised it
            try:
                conn.send(Failed(_picklable(exc)))
            except (EOFError, OSError, BrokenPipeError):
                return


def _serve_one(message: Any, model: Any, conn: Any, cancel: Any) -> tuple[Any, Any]:
    """Do one request (a Load or Unload finds the old model gone); returns the model now held and the answer."""
    match message:
        case Check(source, options):
            from aae_desktop.engine.models.loading import check_source

            check_source(source, options)
            return model, Checked()
        case Unload():
            return model, Unloaded()
        case Load(source, options):
            model = _load(source, options)
            return model, Loaded(_info(model, source, options))
        case Generate(request, interval):
            if model is None:
                raise ModelLoadError("No model is loaded in the engine process.")
            from aae_desktop.engine.run.generate import generate

            steps = _ChildSteps(conn, interval)
            result = generate(model, request, on_step=steps, cancel=cancel, preview_every=1,
                              preview_wanted=steps.wants_preview, on_image=lambda image: conn.send(ImageDone(image)))
            return model, Done(result)
    raise ProtocolError(f"The engine process was sent {type(message).__name__}, which is no request.")


def _no_named_semaphores() -> None:
    """Keep this process from creating system semaphores that only a clean exit would remove.

    A second Cancel ends this process with SIGTERM, so its exit handlers never run; every named
    semaphore it made stays registered with the window's resource tracker, which reports them at
    exit ("N leaked semaphore objects"), one per stopped process. The one it made was tqdm's
    cross-process write lock (diffusers' and huggingface_hub's progress bars). Progress bars here are
    written by this process alone, so tqdm's thread lock is enough.
    """
    from tqdm.std import TqdmDefaultWriteLock

    TqdmDefaultWriteLock.mp_lock = None  # tqdm creates its multiprocessing RLock only when this is unset


def _unload(model: Any) -> None:
    """Let a model's tensors go and return the device's cached memory; always returns None."""
    if model is None:
        return None
    from aae_desktop.engine.run.memory_advice import free_device_memory

    device = str(model.device)
    del model
    free_device_memory(device)  # collects the modules' reference cycles first
    return None


def _load(source: str, options: LoadOptions) -> Any:
    from aae_desktop.engine.models.loading import load_model

    model = load_model(source, options)
    if model.device == "cpu":
        _leave_a_core_for_the_window()
    return model


def _leave_a_core_for_the_window() -> None:
    """torch would take every core; one core less costs little and keeps the window's process fed."""
    import os

    import torch

    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)


def _info(model: Any, source: str, options: LoadOptions) -> ModelHandle:
    from aae_desktop.engine.tokens import tokenizer_for_window

    # The tokenizer only when the window's own splits words differently (unpickling one stalls its UI thread).
    return handle_for(model, source, options, tokenizer_for_window(model.pipe.tokenizer))


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else an EngineError with its message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        if isinstance(exc, GenerationCancelled):
            return GenerationCancelled(str(exc))
        return EngineError(f"{type(exc).__name__}: {exc}")
