"""What the window says when a run or a model load fails: a title and a message for the artist.

Out-of-memory advice names each remedy the way the window shows it (the Size field, the options
of Model ▸ Device and memory…), and only remedies that exist and help on that device.
"""
from __future__ import annotations

import logging

from aae_desktop.engine.run import memory_advice as advice
from aae_desktop.engine.errors import EngineError, InvalidRequest, ModelLoadError, NaNLatents, OutOfMemory
from aae_desktop.ui.run.worker_events import RunFailed

log = logging.getLogger(__name__)

MEMORY_MENU = "Model ▸ Device and memory…"
# The labels of Model ▸ Device and memory… (ui/models/model_options_dialog.py).
OPTION_LABELS = {
    advice.FP16: "Precision fp16",
    advice.VAE_TILING: "VAE tiling",
    advice.ATTENTION_SLICING: "Attention slicing",
    advice.CPU_OFFLOAD: "Model CPU offload",
}


def out_of_memory_text(exc: OutOfMemory) -> str:
    """'Out of memory on the GPU while generating. Try a smaller Size; or in Model ▸ Device and memory…: …'"""
    head = advice.sentence(exc.device, exc.detail, ())
    parts = []
    if advice.SMALLER_SIZE in exc.suggestions:
        parts.append("a smaller Size")
    options = [OPTION_LABELS[k] for k in exc.suggestions if k in OPTION_LABELS]
    if options:
        parts.append(f"in {MEMORY_MENU}: " + ", ".join(options))
    if advice.CLOSE_PROGRAMS in exc.suggestions:
        parts.append("closing other programs that use the same memory")
    return head + (" Try " + "; or ".join(parts) + "." if parts else "")


def describe_failure(run_id: int | None, exc: BaseException, while_loading: bool = False,
                     model_kept: bool = True) -> RunFailed:
    """An artist-readable title and message for anything the engine can raise."""
    def failed(kind: str, title: str, message: str, error: Exception | None = None) -> RunFailed:
        return RunFailed(run_id, kind, title, message, error=error, while_loading=while_loading,
                         model_kept=model_kept)

    if isinstance(exc, InvalidRequest):  # the error goes along so the window can name the field its way
        return failed("invalid", "Check the settings", str(exc), exc)
    if not isinstance(exc, OutOfMemory) and advice.is_out_of_memory(exc):
        text = str(exc).lower()
        device = "cuda" if "cuda" in text else "mps" if "mps" in text else "cpu"
        exc = OutOfMemory(device, suggestions=advice.suggestions(device, while_loading=while_loading))
    if isinstance(exc, OutOfMemory):
        return failed("out_of_memory", "Out of memory", out_of_memory_text(exc))
    if isinstance(exc, NaNLatents):
        return failed("nan", "The image became invalid", str(exc))
    if isinstance(exc, ModelLoadError):
        return failed("model", "The model could not be loaded", str(exc))
    if isinstance(exc, EngineError):
        return failed("engine", "Generation failed", str(exc))
    log.error("unexpected error in the worker", exc_info=exc)
    return failed("unexpected", "Unexpected error", f"{type(exc).__name__}: {exc}")
