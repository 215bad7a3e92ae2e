"""Where and in what precision a model runs: device and dtype choice, placing a pipeline there, memory options.

Every device out-of-memory while placing a model (the move, offload hooks) becomes OutOfMemory
with advice for that device, after the partly moved weights have been taken off it again.
"""
from __future__ import annotations

from typing import Any

from aae_desktop.engine.run import memory_advice
from aae_desktop.engine.errors import ModelLoadError, OutOfMemory

DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp16", "bf16", "fp32")

# fp16 on the CPU falls back to fp32 rather than being refused: PyTorch's CPU fp16 kernels are about
# 3x slower than fp32 and give the same image up to rounding, and RAM is rarely what fp16 would save.
# Refusing would stop an artist whose settings came from a GPU machine for no gain; saying so is enough.
CPU_FP16_NOTE = "fp16 runs about 3x slower than fp32 on the CPU, so the model runs in fp32 here (same image)."
MPS_OFFLOAD_NOTE = ("Model CPU offload is not used on the Apple GPU: it shares the computer's memory, so moving "
                    "parts of the model to the CPU would free nothing.")
MPS_BF16_MESSAGE = "bf16 needs macOS 14 or newer on the Apple GPU; choose fp16 or fp32 precision."


def resolve_device(choice: str = "auto") -> str:
    """auto = cuda -> mps -> cpu; an explicit device that is not available is an error."""
    import torch

    if choice not in DEVICES:
        raise ModelLoadError(f"Unknown device '{choice}'. Choose one of: {', '.join(DEVICES)}.")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if choice == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if choice == "cuda" and not cuda:
        raise ModelLoadError("CUDA was requested but no CUDA GPU is available to PyTorch.")
    if choice == "mps" and not mps:
        raise ModelLoadError("MPS was requested but this PyTorch has no Apple GPU support.")
    return choice


def resolve_dtype(device: str, precision: str = "auto"):
    """auto = fp16 on CUDA, fp32 elsewhere; fp16 on the CPU runs as fp32 (see CPU_FP16_NOTE).

    The Attend-and-Excite loss, the latents and the excite update are fp32 whatever this says.
    """
    import torch

    if precision not in PRECISIONS:
        raise ModelLoadError(f"Unknown precision '{precision}'. Choose one of: {', '.join(PRECISIONS)}.")
    if precision == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    if precision == "fp16" and device == "cpu":
        return torch.float32
    if precision == "bf16" and device == "mps" and not _macos_14_or_newer():
        raise ModelLoadError(MPS_BF16_MESSAGE)
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


def _macos_14_or_newer() -> bool:
    import torch

    check = getattr(torch.backends.mps, "is_macos_or_newer", None)
    return bool(check(14, 0)) if check is not None else False


def placement_notes(device: str, options: Any) -> list[str]:
    """What the options asked for that this device does differently (shown once the model is loaded)."""
    notes = []
    if device == "cpu" and options.precision == "fp16":
        notes.append(CPU_FP16_NOTE)
    if device == "mps" and options.cpu_offload:
        notes.append(MPS_OFFLOAD_NOTE)
    return notes


def uses_offload(device: str, options: Any) -> bool:
    """Model CPU offload helps only a discrete GPU: on the CPU there is nowhere to offload to, and
    an Apple GPU shares the computer's memory."""
    return bool(options.cpu_offload) and device == "cuda"


def place_pipeline(pipe: Any, device: str, dtype: Any, options: Any) -> None:
    """Move `pipe` to `device` in `dtype` (or install offload hooks), then switch on the memory options."""
    offload = uses_offload(device, options)
    # Loaders already build in the target dtype; casting again only makes diffusers warn.
    cast = {} if getattr(pipe, "dtype", None) == dtype else {"dtype": dtype}
    try:
        if offload:
            if cast:
                pipe.to(**cast)
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device=device, **cast)
    except Exception as exc:
        if memory_advice.is_out_of_memory(exc):
            _take_off_device(pipe, device)
            raise OutOfMemory(device, "while moving the model to it",
                              memory_advice.suggestions(device, options, str(dtype).replace("torch.", ""),
                                                        while_loading=True)) from exc
        if device == "mps" and "bfloat16" in str(exc).lower():
            raise ModelLoadError(MPS_BF16_MESSAGE) from exc
        raise
    if options.attention_slicing:
        pipe.enable_attention_slicing()
    if options.vae_slicing:
        pipe.vae.enable_slicing()
    if options.vae_tiling:
        pipe.vae.enable_tiling()


def _take_off_device(pipe: Any, device: str) -> None:
    """After a failed move, the part already moved would stay on the device as long as the error lives
    (its traceback holds the pipeline): move it back and return the cached blocks."""
    try:
        if hasattr(pipe, "remove_all_hooks"):
            pipe.remove_all_hooks()
        pipe.to("cpu")
    except Exception:  # best effort: the error being reported is the out-of-memory
        pass
    memory_advice.free_device_memory(device)
