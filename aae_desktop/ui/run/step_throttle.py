"""The worker's on_step callback: turns the engine's StepEvents into a few progress and preview signals a second."""
from __future__ import annotations

import time
from typing import Any

from aae_desktop.engine.events import StepEvent
from aae_desktop.ui.image_convert import pil_to_qimage
from aae_desktop.ui.run.worker_events import PreviewImage, Progress

# A few previews a second look live; more would only queue paint work on the UI thread.
PREVIEW_INTERVAL_S = 0.25
# Progress text changes every step; 20 updates a second is smoother than the eye needs.
PROGRESS_INTERVAL_S = 0.05


class StepThrottle:
    """The on_step callback: turns StepEvents into at most a few signals a second."""

    preview_interval_s = PREVIEW_INTERVAL_S  # read by an engine that makes previews elsewhere

    def __init__(self, worker: Any, run_id: int):
        self._worker = worker
        self._run_id = run_id
        self._last_progress = 0.0
        self._last_preview = 0.0
        self._last_phase: tuple[str, int] | None = None

    def wants_preview(self) -> bool:
        """Asked by the engine before it makes a preview (a device read-back): only when one would show."""
        return time.monotonic() - self._last_preview >= PREVIEW_INTERVAL_S

    def __call__(self, event: StepEvent) -> None:
        now = time.monotonic()
        phase_key = (event.phase, event.image_index)
        last_step = event.step >= event.total_steps - 1
        if phase_key != self._last_phase or last_step or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_phase = phase_key
            self._last_progress = now
            self._worker.progressed.emit(progress_of(self._run_id, event))
        if event.preview is not None and (now - self._last_preview >= PREVIEW_INTERVAL_S):
            self._last_preview = now
            image = pil_to_qimage(event.preview)
            self._worker.preview_ready.emit(PreviewImage(self._run_id, image, event.step, event.image_index))


def progress_of(run_id: int, event: StepEvent) -> Progress:
    fraction = event.fraction
    eta = event.elapsed * (1 - fraction) / fraction if fraction > 0.02 and event.elapsed > 0 else None
    return Progress(
        run_id=run_id,
        phase=event.phase,
        step=event.step,
        total_steps=event.total_steps,
        image_index=event.image_index,
        num_images=event.num_images,
        fraction=fraction,
        elapsed=event.elapsed,
        eta=eta,
        loss=event.loss,
        token_attention=dict(event.token_max_attention),
        refinement_iteration=event.refinement_iteration,
    )
