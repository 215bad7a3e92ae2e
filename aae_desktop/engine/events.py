"""Typed values the engine hands back: per-step events and the finished result."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from aae_desktop.engine.request import GenerationRequest

PHASES = ("loading", "refining", "exciting", "denoising", "decoding")


@dataclass(frozen=True)
class StepEvent:
    """Sent by generate() during a run; `preview` is set only on steps that carry one."""

    image_index: int
    num_images: int
    step: int  # 0-based denoising step
    total_steps: int
    phase: str  # one of PHASES
    loss: float | None = None
    token_max_attention: dict[int, float] = field(default_factory=dict)  # token index -> max attention
    refinement_iteration: int | None = None
    preview: "Image.Image | None" = None
    elapsed: float = 0.0  # seconds since the run started

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1] across all images of the batch."""
        per_image = 1.0 / max(self.num_images, 1)
        done = 1.0 if self.phase == "decoding" else self.step / max(self.total_steps, 1)
        return min(1.0, per_image * (self.image_index + done))


@dataclass(frozen=True)
class LossRecord:
    step: int
    phase: str  # "exciting" or "refining"
    loss: float
    token_max_attention: dict[int, float]


@dataclass
class ImageResult:
    image: "Image.Image"
    seed: int
    request: "GenerationRequest"  # the single-image request that reproduces this image alone
    # token index -> (h, w) float32 attention map (text-softmaxed) from the last excited step
    attention_maps: dict[int, "np.ndarray"] = field(default_factory=dict)
    loss_history: list[LossRecord] = field(default_factory=list)
    nsfw: bool = False
    scheduler: str = ""  # diffusers class actually used (tells what "default" meant for this model)
    model_family: str = ""  # families.FAMILIES key of the model that drew it (saved in the PNG's aae chunk)


@dataclass
class GenerationResult:
    request: "GenerationRequest"
    images: list[ImageResult]
    elapsed: float
    device: str
    warnings: list[str] = field(default_factory=list)

    @property
    def pil_images(self) -> list["Image.Image"]:
        return [r.image for r in self.images]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.images]


StepCallback = Callable[[StepEvent], None]
ImageCallback = Callable[[ImageResult], None]  # each image of a batch, as soon as it is decoded
