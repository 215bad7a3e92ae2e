"""The small engine interface the worker calls, so UI tests can swap in a fake engine."""
from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

from aae_desktop.engine.events import GenerationResult, ImageResult, StepEvent
from aae_desktop.engine.models import LoadOptions
from aae_desktop.engine.request import GenerationRequest


class Engine(Protocol):
    """What the worker needs from the engine; every call runs on the worker thread."""

    def load_tokenizer(self) -> Any:
        """The tokenizer used to show words before any model is loaded."""

    def load(self, source: str, options: LoadOptions) -> Any:
        """Load a model; the returned handle is passed back to generate().

        Optional, and used when present: `check(source, options)` raises for a source that cannot
        load without reading weights (the worker frees the current model only after it passes), and
        `free_memory(options)` returns the device's cached memory once a model has been dropped.
        """

    def generate(
        self,
        model: Any,
        request: GenerationRequest,
        on_step: Callable[[StepEvent], None],
        cancel: threading.Event,
        on_image: Callable[[ImageResult], None] | None = None,
    ) -> GenerationResult:
        """Run a request; raise engine.errors.GenerationCancelled when `cancel` is set.

        `on_step` may have a `wants_preview()` method: previews are then made only when it says yes.
        `on_image` gets each image as soon as it is finished (engine.generate's on_image).
        """


class DiffusersEngine:
    """The real engine. Imports torch/diffusers only when first called (on the worker thread),
    which is what lets the window appear before the heavy libraries have loaded."""

    def load_tokenizer(self) -> Any:
        from aae_desktop.engine.tokens import load_tokenizer

        return load_tokenizer()

    def load(self, source: str, options: LoadOptions) -> Any:
        from aae_desktop.engine.models import load_model

        model = load_model(source, options)
        if model.device == "cpu":
            _leave_a_core_for_the_ui()
        return model

    def check(self, source: str, options: LoadOptions) -> None:
        from aae_desktop.engine.models import check_source

        check_source(source, options)

    def free_memory(self, options: LoadOptions) -> None:
        from aae_desktop.engine.devices import resolve_device
        from aae_desktop.engine.memory_advice import free_device_memory

        try:
            device = resolve_device(options.device)
        except Exception:  # an unavailable device holds no memory of ours
            return
        free_device_memory(device)

    def generate(self, model, request, on_step, cancel, on_image=None) -> GenerationResult:
        from aae_desktop.engine.generate import generate

        # Latent previews are cheap approximations, but each copies data off the device: the worker's
        # throttle says when one would reach the screen.
        return generate(model, request, on_step=on_step, cancel=cancel, preview_every=1,
                        preview_wanted=getattr(on_step, "wants_preview", None), on_image=on_image)


class ProcessEngine:
    """The real engine in a process of its own (engine/engine_process.py): the window's process then
    never waits for a render's Python lock, so it stays smooth however busy the render is. The model
    lives in that process; the window holds a ModelInfo for it."""

    def __init__(self) -> None:
        from aae_desktop.engine.engine_process import EngineProcess

        self._process = EngineProcess()

    def load_tokenizer(self) -> Any:
        from aae_desktop.engine.tokens import load_tokenizer

        return load_tokenizer()

    def load(self, source: str, options: LoadOptions) -> Any:
        return self._process.load(source, options)

    def check(self, source: str, options: LoadOptions) -> None:
        """Runs in the engine process, where the model is: a wrong file never costs the current model."""
        self._process.check(source, options)

    def unload(self) -> None:
        """Free the model in the engine process (the process itself stays for the next load)."""
        self._process.unload()

    def generate(self, model, request, on_step, cancel, on_image=None) -> GenerationResult:
        # Previews are made in the engine process only as often as the worker's throttle shows them.
        interval = getattr(on_step, "preview_interval_s", 0.25)
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


def model_tokenizer(model: Any) -> Any | None:
    """The tokenizer a loaded model ships with (SD 2.x differs slightly from the bundled one)."""
    if getattr(model, "tokenizer", None) is not None:  # a model in the engine process (ModelInfo)
        return model.tokenizer
    pipe = getattr(model, "pipe", None)
    return getattr(pipe, "tokenizer", None)


def model_scheduler_class(model: Any) -> str:
    """The diffusers class of a loaded model's own scheduler ("" for a model without a pipeline)."""
    if getattr(model, "scheduler_class", None):  # a model in the engine process (ModelInfo)
        return model.scheduler_class
    scheduler = getattr(getattr(model, "pipe", None), "scheduler", None)
    return type(scheduler).__name__ if scheduler is not None else ""
