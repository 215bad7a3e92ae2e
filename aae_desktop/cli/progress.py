"""A stderr progress bar for CLI renders, fed by the engine's StepEvents."""
from __future__ import annotations

import sys
from typing import Any

from aae_desktop.engine.events import StepEvent


def echo(line: str, err: bool = False) -> None:
    """Print a whole line on stdout or stderr; a progress bar on the terminal is lifted out of its way."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    from tqdm.auto import tqdm

    tqdm.write(line, file=stream)
    stream.flush()


class ProgressBar:
    """One bar over all denoising steps of all images; the postfix shows phase and loss."""

    def __init__(self, request: Any):
        self.total = request.steps * request.num_images
        self._bar = None

    def __enter__(self) -> "ProgressBar":
        if sys.stderr is not None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, file=sys.stderr, unit="step", dynamic_ncols=True, leave=True)
        return self

    def update(self, event: StepEvent) -> None:
        if self._bar is None:
            return
        total = event.total_steps * event.num_images  # schedulers may run more steps than asked (PNDM)
        if self._bar.total != total:
            self._bar.total = total
        done = event.image_index * event.total_steps + (event.step if event.phase == "denoising" else 0)
        if event.phase == "denoising" and done > self._bar.n:
            self._bar.update(done - self._bar.n)
        postfix = {"image": f"{event.image_index + 1}/{event.num_images}", "phase": event.phase}
        if event.loss is not None:
            postfix["loss"] = f"{event.loss:.3f}"
        self._bar.set_postfix(postfix, refresh=False)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.close()
