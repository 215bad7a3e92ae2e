"""The engine interface the worker calls (every method of it), so UI tests can swap in a fake engine."""
from __future__ import annotations

import threading
from typing import Any, Callable, Protocol, runtime_checkable

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.events import GenerationResult, ImageResult, StepEvent
from aae_desktop.engine.model_handle import ModelHandle, handle_for
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.ui.run.step_throttle import PREVIEW_INTERVAL_S


class StepListener(Protocol):
    """The worker's on_step (ui/run/step_throttle.StepThrottle): says how often previews are worth making."""

    preview_interval_s: float  # an engine that makes previews elsewhere sends one at most this often

    def __call__(self, event: StepEvent) -> None: ...

    def wants_preview(self) -> bool:
        """Asked before a preview is made (a device read-back): only when one would reach the screen."""


@runtime_checkable
class Engine(Protocol):
    """What the worker needs from the engine; every call runs on the worker thread, except kill()."""

    # Whether kill() can end a run that is inside one long call (only an engine in its own process can).
    can_stop_at_once: bool

    def load_tokenizer(self) -> Any:
        """The tokenizer used to show words before any model is loaded."""

    def check(self, source: str, options: LoadOptions) -> None:
        """Raise for a source that cannot load, without reading weights: the worker frees the current
        model only after this passes."""

    def load(self, source: str, options: LoadOptions) -> ModelHandle:
        """Load a model (the engine keeps it); the handle is passed back to generate()."""

    def unload(self) -> None:
        """Let the loaded model go (before the next load, or when the window closes)."""

    def free_memory(self, options: LoadOptions) -> None:
        """Return the device's cached memory once a model has been let go."""

    def generate(
        self,
        model: ModelHandle,
        request: GenerationRequest,
        on_step: StepListener,
        cancel: threading.Event,
        on_image: Callable[[ImageResult], None] | None = None,
    ) -> GenerationResult:
        """Run a request; raise engine.errors.GenerationCancelled when `cancel` is set.

        `on_image` gets each image as soon as it is finished (engine.generate's on_image).
        """

    def close(self) -> None:
        """The window is closing: free everything (called again after that, it does nothing)."""

    def kill(self) -> None:
        """Stop a run or load at once, from any thread (nothing to do where can_stop_at_once is False)."""


class DiffusersEngine:
    """The real engine, in the window's process. Imports torch/diffusers only when first called (on the
    worker thread), which is what lets the window appear before the heavy libraries have loaded.

    `loader` builds the model (models.load_model unless given: the self-test passes its tiny model)."""

    can_stop_at_once = False  # a C++ call inside this process cannot be interrupted

    def __init__(self, loader: Callable[[str, LoadOptions], Any] | None = None) -> None:
        self._loader = loader
        self._model: Any = None  # the LoadedModel that self._handle stands for
        self._handle: ModelHandle | None = None

    def load_tokenizer(self) -> Any:
        from aae_desktop.engine.tokens import load_tokenizer

        return load_tokenizer()

    def check(self, source: str, options: LoadOptions) -> None:
        if self._loader is not None:
            return  # a given loader knows its own models
        from aae_desktop.engine.models.loading import check_source

        check_source(source, options)

    def load(self, source: str, options: LoadOptions) -> ModelHandle:
        if self._loader is None:
            from aae_desktop.engine.models.loading import load_model as loader
        else:
            loader = self._loader
        self.unload()  # the old model goes first, so a device that holds one model can switch
        model = loader(source, options)
        if model.device == "cpu":
            _leave_a_core_for_the_ui()
        self._model, self._handle = model, handle_for(model, source, options, model.pipe.tokenizer)
        return self._handle

    def unload(self) -> None:
        self._model = self._handle = None

    def free_memory(self, options: LoadOptions) -> None:
        from aae_desktop.engine.models.devices import resolve_device
        from aae_desktop.engine.run.memory_advice import free_device_memory

        try:
            device = resolve_device(options.device)
        except Exception:  # an unavailable device holds no memory of ours
            return
        free_device_memory(device)

    def generate(self, model, request, on_step, cancel, on_image=None) -> GenerationResult:
        from aae_desktop.engine.run.generate import generate

        if model != self._handle:  # the worker passes the handle of the model it loaded last
            raise ModelLoadError(f"{model.name} is not the loaded model; load it again.")
        # Latent previews are cheap approximations, but each copies data off the device: the worker's
        # throttle says when one would reach the screen.
        return generate(self._model, request, on_step=on_step, cancel=cancel, preview_every=1,
                        preview_wanted=on_step.wants_preview, on_image=on_image)

    def close(self) -> None:
        self.unload()

    def kill(self) -> None:
        pass  # can_stop_at_once is False: the worker never asks


class ProcessEngine:
    """The real engine in a process of its own (engine/run/engine_process.py): the window's process then
    never waits for a render's Python lock, so it stays smooth however busy the render is. The model
    lives in that process; the window holds its ModelHandle."""

    can_stop_at_once = True  # the process can be ended mid-call

    def __init__(self) -> None:
        from aae_desktop.engine.run.engine_process import EngineProcess

        self._process = EngineProcess()

    def load_tokenizer(self) -> Any:
        from aae_desktop.engine.tokens import load_tokenizer

        return load_tokenizer()

    def check(self, source: str, options: LoadOptions) -> None:
        """Runs in the engine process, where the model is: a wrong file never costs the current model."""
        self._process.check(source, options)

    def load(self, source: str, options: LoadOptions) -> ModelHandle:
        return self._process.load(source, options)

    def unload(self) -> None:
        """Free the model in the engine process (the process itself stays for the next load)."""
        self._process.unload()

    def free_memory(self, options: LoadOptions) -> None:
        pass  # the engine process gives its memory back when it unloads (the window's holds none)

    def generate(self, model, request, on_step, cancel, on_image=None) -> GenerationResult:
        # Previews are made in the engine process only as often as the worker's throttle shows them.
        interval = on_step.preview_interval_s if on_step is not None else PREVIEW_INTERVAL_S
        return self._process.generate(model, request, on_step, cancel, interval, on_image)

    def close(self) -> None:
        """Stop the engine process (it frees the model's memory)."""
        self._process.close()

    def kill(self) -> None:
        """End the engine process at once, even in the middle of a model load."""
        self._process.kill()


def _leave_a_core_for_the_ui() -> None:
    """On CPU, torch's thread pool would otherwise take every core and starve the UI thread
    (painting, typing the next prompt). One core less costs little on a many-core machine."""
    import os

    import torch

    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)
