"""Typed engine errors, so the UI and CLI can tell a user mistake from a machine problem."""
from __future__ import annotations


class EngineError(Exception):
    """Base class: every message is written for the artist, not the developer."""


class InvalidRequest(EngineError, ValueError):
    """The request cannot run as given (bad prompt, indices, sizes...)."""


class GenerationCancelled(EngineError):
    """The user cancelled; the pipeline is left ready for the next run."""


class OutOfMemory(EngineError):
    """The device ran out of memory."""

    ADVICE = "Try a smaller size, fewer images per run, fp16 precision, or CPU offload."

    def __init__(self, device: str, detail: str = ""):
        self.device = device
        super().__init__(f"Out of memory on {device}. {self.ADVICE}" + (f" ({detail})" if detail else ""))


class NaNLatents(EngineError):
    """The latents became NaN/inf (often fp16 overflow or a too-large excite step)."""

    def __init__(self, step: int):
        self.step = step
        super().__init__(
            f"The image became invalid (NaN) at step {step}. Try fp32 precision, a smaller scale factor, "
            "or fewer Attend-and-Excite iterations."
        )


class ModelLoadError(EngineError):
    """A model could not be loaded (missing files, wrong family, corrupt weights, not SD)."""
