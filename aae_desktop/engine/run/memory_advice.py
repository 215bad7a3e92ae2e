"""Out of memory: recognising it whatever raised it, and advice that only names options that help there.

The engine raises OutOfMemory with suggestion keys; the window and the CLI turn the keys into the
names they show (a dialog's label, a command-line flag), so the advice is always something the
artist can find and that works on that device:

- images run one after another, so "fewer images" never lowers the peak, and VAE slicing (which
  splits a batch) does nothing at batch 1; VAE tiling is what helps large images;
- model CPU offload only helps a discrete GPU (CUDA): an Apple GPU shares the computer's memory and
  on the CPU there is nowhere to offload to;
- fp16 is only suggested where it runs (CUDA, MPS) and where the model is not already in half
  precision; attention slicing is the Apple-GPU remedy (PyTorch's fused attention already saves
  that memory on CUDA).
"""
from __future__ import annotations

from typing import Any, Mapping

# Suggestion keys, in the order they are offered.
SMALLER_SIZE = "smaller_size"
FP16 = "fp16"
VAE_TILING = "vae_tiling"
ATTENTION_SLICING = "attention_slicing"
CPU_OFFLOAD = "cpu_offload"
CLOSE_PROGRAMS = "close_programs"

# Engine wording; the window and the CLI pass their own names to OutOfMemory.describe().
PLAIN_NAMES: Mapping[str, str] = {
    SMALLER_SIZE: "a smaller width and height",
    FP16: "fp16 precision",
    VAE_TILING: "VAE tiling",
    ATTENTION_SLICING: "attention slicing",
    CPU_OFFLOAD: "model CPU offload",
    CLOSE_PROGRAMS: "closing other programs that use the same memory",
}

PLACES = {"cuda": "the GPU", "mps": "the Apple GPU (shared with the computer)", "cpu": "the computer (RAM)"}

_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "failed to allocate")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU allocation failures from any torch release (and Python's MemoryError)."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return any(m in text for m in _MESSAGES)


def suggestions(device: str, options: Any = None, dtype: str = "float32", while_loading: bool = False) -> tuple[str, ...]:
    """What helps on `device`, leaving out what is already on. `options` is a LoadOptions (or None)."""
    on = (lambda name: bool(getattr(options, name, False)))
    half = dtype in ("float16", "bfloat16")
    keys: list[str] = []
    if not while_loading:
        keys.append(SMALLER_SIZE)
    if device in ("cuda", "mps") and not half:
        keys.append(FP16)
    if device == "cuda" and not on("cpu_offload"):
        keys.append(CPU_OFFLOAD)
    if device == "mps" and not while_loading and not on("attention_slicing"):
        keys.append(ATTENTION_SLICING)
    if not while_loading and not on("vae_tiling"):
        keys.append(VAE_TILING)
    if device != "cuda" or while_loading:
        keys.append(CLOSE_PROGRAMS)
    return tuple(keys)


def sentence(device: str, what: str, keys: tuple[str, ...], names: Mapping[str, str] = PLAIN_NAMES) -> str:
    """'Out of memory on the GPU while loading the model. Try fp16 precision or model CPU offload.'"""
    place = PLACES.get(device, device)
    text = f"Out of memory on {place}" + (f" {what}" if what else "") + "."
    named = [names.get(k, PLAIN_NAMES.get(k, k)) for k in keys]
    if named:
        text += " Try " + (named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]) + "."
    return text


def free_device_memory(device: str) -> None:
    """Give cached blocks back after a failure, so a retry (or the next model) finds the memory."""
    import gc

    import torch

    gc.collect()
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and getattr(torch, "mps", None) is not None and torch.backends.mps.is_available():
        torch.mps.empty_cache()
