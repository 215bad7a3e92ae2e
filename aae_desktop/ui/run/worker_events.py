"""Typed payloads for the generation worker's signals (one dataclass per past-tense signal)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtGui import QImage

from aae_desktop.engine.events import GenerationResult
from aae_desktop.engine.request import GenerationRequest


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    request: GenerationRequest


@dataclass(frozen=True)
class ModelLoadStarted:
    source: str


@dataclass(frozen=True)
class TokenizerLoaded:
    tokenizer: Any


@dataclass(frozen=True)
class Progress:
    run_id: int
    phase: str  # engine.events.PHASES
    step: int
    total_steps: int
    image_index: int
    num_images: int
    fraction: float  # whole batch, 0..1
    elapsed: float
    eta: float | None  # seconds left, None until there is enough to estimate from
    loss: float | None = None
    token_attention: dict[int, float] = field(default_factory=dict)
    refinement_iteration: int | None = None


@dataclass(frozen=True)
class PreviewImage:
    run_id: int
    image: QImage  # built on the worker thread so the UI thread only paints it
    step: int
    image_index: int


@dataclass(frozen=True)
class ImageFinished:
    """One image of a run, sent the moment it is decoded (before the next one starts)."""

    run_id: int
    index: int  # 0-based position in the batch
    num_images: int
    result: Any  # engine.events.ImageResult
    image: QImage


@dataclass(frozen=True)
class RunFinished:
    run_id: int
    result: GenerationResult
    images: tuple[QImage, ...]


@dataclass(frozen=True)
class RunFailed:
    run_id: int | None  # None when a model load that no run asked for failed
    kind: str  # "invalid", "out_of_memory", "nan", "model", "engine", "unexpected"
    title: str
    message: str
    # The InvalidRequest itself, so the window can name the field with its own label.
    error: Exception | None = None
    completed: int = 0  # images of the batch finished (and handed out) before the failure
    while_loading: bool = False  # a model load failed (the worker then holds the model it had, if any)
    model_kept: bool = True  # False when no model is loaded any more


@dataclass(frozen=True)
class RunCancelled:
    run_id: int
    completed: int = 0  # images finished (and handed out) before the cancel: kept, not discarded
    num_images: int = 0
    model_dropped: bool = False  # the model load was stopped (a second Cancel): no model is loaded now
