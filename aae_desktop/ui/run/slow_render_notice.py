"""The window's warning of a very long CPU render (engine/run/cpu_time_estimate.py), before it starts.

The device is known once the model that runs the request is loaded: at Generate when it already
is, otherwise as soon as the worker has loaded it (before the first step). Either way the warning
joins the run's other notes in the banner rather than replacing them.
"""
from __future__ import annotations

from typing import Any

from aae_desktop.engine.run.cpu_time_estimate import slow_cpu_render_note


class SlowRenderNotice:
    def __init__(self) -> None:
        self._waiting: Any = None  # a submitted request whose model (and so device) is not loaded yet
        self._notes: list[str] = []  # what the banner shows for the current run

    def at_submit(self, request: Any, loaded: Any, notes: list[str]) -> list[str]:
        """The banner's notes for a run just submitted: `notes`, plus the warning if `loaded` (the
        worker's ModelHandle, or None) is the request's model on the CPU and the render is long."""
        self._waiting = None
        self._notes = list(notes)
        if loaded is not None and loaded.source == request.model:
            note = slow_cpu_render_note(request, loaded.device)
            self._notes += [note] if note else []
        else:
            self._waiting = request
        return self._notes

    def at_load(self, loaded: Any) -> list[str]:
        """The banner's notes, warning included, once the waiting run's model has loaded; [] when
        there is nothing new to say."""
        request, self._waiting = self._waiting, None
        if request is None or loaded.source != request.model:
            return []
        note = slow_cpu_render_note(request, loaded.device)
        if not note:
            return []
        self._notes.append(note)
        return self._notes
