"""RunSession: between the window's widgets and the worker, without Qt.

It owns what a run is made with besides the widgets' values: the model source and its load options,
the loaded model's handle, and the checks a run must pass (the gallery adds "can the folder take
the images?"). A request goes one way: `prepare` validates and pre-checks it once and words its
notes, `submit` hands it to the worker. The gallery, the model controls and the iteration runs talk
to the session, not to the window's private attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from aae_desktop.engine.errors import InvalidRequest, worded
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.ui.run.slow_render_notice import SlowRenderNotice

RunCheck = Callable[[GenerationRequest], "tuple[str, str] | None"]


class RunRefused(Exception):
    """A run that cannot start: a title and a message for the banner, and the field to focus."""

    def __init__(self, title: str, message: str, field: str | None = None):
        super().__init__(message)
        self.title, self.message, self.field = title, message, field


@dataclass
class PreparedRun:
    request: GenerationRequest
    notes: list[str] = field(default_factory=list)  # warnings and estimates, worded for the banner


class RunSession:
    def __init__(self, worker: Any, model_source: str = "", load_options: LoadOptions | None = None):
        self.worker = worker  # WorkerController: submit(request, options), load_model(source, options)
        self.model_source = model_source
        self.load_options = load_options or LoadOptions()
        self.loaded: Any = None  # the worker's ModelHandle, while it holds a model
        self.run_checks: list[RunCheck] = []
        self._slow_render = SlowRenderNotice()  # warns of hours on the CPU before a run starts

    # -- the model ------------------------------------------------------------------------------------
    def choose_model(self, source: str, options: LoadOptions | None = None) -> str:
        """Load `source` (with `options`, else the current ones) in the worker; returns a note for the
        status bar when a run is going on: the switch happens after it."""
        self.model_source = str(source)
        if options is not None:
            self.load_options = options
        running = self.worker.current_request
        later = ""
        if running is not None and running.model != self.model_source:
            later = f"{Path(self.model_source).name or self.model_source} after this run"
        self.worker.load_model(self.model_source, self.load_options)
        return later

    def model_loaded(self, loaded: Any) -> list[str]:
        """The worker loaded a model: remember it; the banner notes for a run waiting on it, if any."""
        self.loaded = loaded
        return self._slow_render.at_load(loaded) if self.worker.busy else []

    def model_dropped(self) -> None:
        self.loaded = None

    # -- runs -----------------------------------------------------------------------------------------
    def prepare(self, request: GenerationRequest, tokenizer: Any, labels: Mapping[str, str]) -> PreparedRun:
        """Validate and pre-check `request` once. Raises RunRefused with the banner's words."""
        try:
            if not request.model:
                raise InvalidRequest("Choose a model first: Model ▸ Open model folder…")
            warnings = request.validate(tokenizer)
        except InvalidRequest as exc:
            raise RunRefused("Check the settings", exc.message_for(labels), exc.field) from exc
        for check in self.run_checks:
            problem = check(request)
            if problem is not None:
                raise RunRefused(*problem)
        notes = [worded(w, labels) for w in warnings]
        return PreparedRun(request, self._slow_render.at_submit(request, self.loaded, notes))

    def submit(self, prepared: PreparedRun) -> None:
        self.worker.submit(prepared.request, self.load_options)
