"""Runs the iteration tools through the generation worker: A/B (same seed, A&E on then off, or binding
on then off) and seed sweeps.

It submits ordinary requests to the worker controller and only listens for its own run ids, so
the main window keeps handling (showing, autosaving) every result as usual.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from aae_desktop.engine.events import GenerationResult
from aae_desktop.engine.request import GenerationRequest

MAX_SWEEP = 64
# What an A/B compares: A is always the request as the window has it (with the thing), B is without it.
AB_EXCITE = "excite"  # with Attend-and-Excite against plain Stable Diffusion
AB_BIND = "bind"  # excite + bind against excite alone


@dataclass(frozen=True)
class ABPair:
    with_excite: GenerationResult  # A: with what `kind` compares
    without: GenerationResult  # B: the same seed without it
    kind: str = AB_EXCITE

    @property
    def seed(self) -> int:
        return self.with_excite.request.seed


class IterationRunner(QObject):
    ab_ready = Signal(object)  # ABPair
    sweep_ready = Signal(object)  # GenerationResult of the whole sweep
    failed = Signal(str)  # a message for the artist
    busy_changed = Signal(bool)

    def __init__(self, controller: Any, options: Callable[[], Any], parent: QObject | None = None):
        """`controller` is the WorkerController (submit + finished/failed/cancelled signals);
        `options` returns the current LoadOptions."""
        super().__init__(parent)
        self._controller = controller
        self._options = options
        self._pending: dict[int, Callable[[GenerationResult], None]] = {}
        controller.finished.connect(self._finished)
        controller.failed.connect(self._stopped)
        controller.cancelled.connect(self._stopped)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def start_ab(self, request: GenerationRequest, kind: str = AB_EXCITE) -> bool:
        """Render `request` with Attend-and-Excite (or with binding), then the same seed without it."""
        if kind == AB_BIND:
            pair = self._bind_pair(request)
        elif not request.excite.token_indices:
            self.failed.emit("A/B needs at least one selected word: click the words to excite first.")
            return False
        else:
            a = request.replace(num_images=1).with_excite(enabled=True)
            pair = (a, a.with_excite(enabled=False))
        if pair is None:
            return False
        a, b = pair

        def then_without(first: GenerationResult) -> None:
            self._submit(b, lambda second: self.ab_ready.emit(ABPair(first, second, kind)))

        return self._submit(a, then_without)

    def _bind_pair(self, request: GenerationRequest) -> tuple[GenerationRequest, GenerationRequest] | None:
        if not request.bind.active:
            self.failed.emit("“Excite + bind vs excite” has no bound words to compare: link a modifier to its "
                             "noun first, or choose “Attend-and-Excite vs plain”.")
            return None
        a = request.replace(num_images=1)
        b = a.replace(bind=dataclasses.replace(a.bind, enabled=False))
        if b.excite.enabled and not b.excite.token_indices:
            # Binding alone: without it nothing is excited, and B is plain Stable Diffusion.
            b = b.with_excite(enabled=False)
        return a, b

    def start_sweep(self, request: GenerationRequest, count: int) -> bool:
        """N seeds from request.seed (image i has seed + i) as one batch."""
        if not 1 <= count <= MAX_SWEEP:
            self.failed.emit(f"A seed sweep takes between 1 and {MAX_SWEEP} seeds (got {count}).")
            return False
        return self._submit(request.replace(num_images=count), self.sweep_ready.emit)

    def _submit(self, request: GenerationRequest, then: Callable[[GenerationResult], None]) -> bool:
        try:
            run_id = self._controller.submit(request, self._options())
        except RuntimeError as exc:  # the worker is busy with another run
            self.failed.emit(f"{exc} Wait for it to finish, then try again.")
            self._set_pending_done()
            return False
        was_busy = self.busy
        self._pending[run_id] = then
        if not was_busy:
            self.busy_changed.emit(True)
        return True

    def _finished(self, payload: Any) -> None:
        then = self._pending.pop(getattr(payload, "run_id", None), None)
        if then is None:
            return
        result = payload.result

        def continue_() -> None:
            then(result)  # may submit the next run (A/B)
            self._set_pending_done()

        # The controller marks itself idle only after this signal: submit the next run once it has.
        QTimer.singleShot(0, continue_)

    def _stopped(self, payload: Any) -> None:
        if self._pending.pop(getattr(payload, "run_id", None), None) is not None:
            message = getattr(payload, "message", None)
            self.failed.emit(f"Stopped: {message}" if message else "Cancelled.")
            self._set_pending_done()

    def _set_pending_done(self) -> None:
        if not self._pending:
            self.busy_changed.emit(False)
