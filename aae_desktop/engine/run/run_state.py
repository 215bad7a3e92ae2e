"""Per-request state shared by the denoising loop and the excite step: callbacks, cancel, conditioning, capture."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from aae_desktop.engine.run.attention import CaptureState
from aae_desktop.engine.run.conditioning import Conditioning
from aae_desktop.engine.errors import GenerationCancelled
from aae_desktop.engine.events import LossRecord, StepCallback, StepEvent
from aae_desktop.engine.models.loading import LoadedModel
from aae_desktop.engine.objectives.registry import AttentionObjective
from aae_desktop.engine.request import GenerationRequest


@dataclass
class RunState:
    """One generate() call; the per-image fields are reset for each image of the batch."""

    model: LoadedModel
    request: GenerationRequest
    on_step: StepCallback | None
    cancel: threading.Event | None
    preview_every: int
    decode_preview_every: int
    preview_wanted: Callable[[], bool] | None
    started: float
    conditioning: Conditioning  # the UNet's text (and, for SDXL, size) conditioning
    capture: CaptureState | None = None
    objectives: list[AttentionObjective] = field(default_factory=list)  # summed into one loss per forward
    text_stop: int | None = None  # the softmax over text tokens ends here (end-of-text) when set
    native_convs: bool = False  # see cpu_kernels: UNet convolutions without oneDNN
    loss_scale: float = 1.0  # > 1 only for fp16 UNets; lowered for the rest of the run on overflow
    stage: str = "denoising"  # "decoding" while the VAE runs (out-of-memory advice differs)
    image_index: int = 0
    total_steps: int = 0  # len(timesteps): PNDM runs one more than the requested steps
    losses: list[LossRecord] = field(default_factory=list)
    last_maps: dict[int, torch.Tensor] = field(default_factory=dict)  # on the device; copied once per image

    def check_cancel(self) -> None:
        check_cancel(self.cancel)

    def emit(self, **fields: Any) -> None:
        if self.on_step is not None:
            self.on_step(StepEvent(image_index=self.image_index, num_images=self.request.num_images,
                                   total_steps=self.total_steps or self.request.steps,
                                   elapsed=time.perf_counter() - self.started, **fields))


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise GenerationCancelled when the user asked to stop (checked before every UNet call)."""
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled("Generation cancelled.")
