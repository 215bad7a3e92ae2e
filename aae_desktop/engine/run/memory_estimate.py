"""Rough peak memory of a run, so a size the device cannot hold is refused before any work starts.

A run's memory beyond the weights is activations, and with fused attention those grow linearly
with the number of pixels: the UNet phase (an excite forward kept for its backward pass, then the
guidance forward) per latent pixel and per channel of the UNet's first level; the VAE decode per
image pixel and per channel of the VAE's first level. The two phases never overlap, so the peak is
the larger, plus a fixed overhead (allocator, thread buffers). The figures come from
benchmarks/bench_memory_estimate.py (SD 1.x widths, fp32, CPU: the UNet phase holds about 208 bytes
per latent pixel x channel x byte plus ~90 MiB, the decode about 7.1 plus ~100 MiB) and are rounded
up: an estimate below the truth would let a run start that then swaps for hours or dies.
"""
from __future__ import annotations

from typing import Any

from aae_desktop.engine.errors import InvalidRequest

GIB = 1024**3
# Bytes held at the phase's peak per (latent pixel x first-level channel x bytes per element).
UNET_FACTOR = 250.0
# Bytes held at the decode's peak per (image pixel x first-level channel x bytes per element).
VAE_FACTOR = 9.0
OVERHEAD_BYTES = 256 * 1024**2
# diffusers' VAE tiling decodes tiles of this many pixels a side (tile_sample_min_size for SD).
VAE_TILE_SIDE = 512


def _first_channels(module: Any, default: int) -> int:
    channels = getattr(getattr(module, "config", None), "block_out_channels", None)
    return int(channels[0]) if channels else default


def _element_bytes(module: Any) -> int:
    dtype = getattr(module, "dtype", None)
    return getattr(dtype, "itemsize", 4) or 4


def unet_phase_bytes(model: Any, request: Any) -> int:
    pipe = model.pipe
    scale = getattr(pipe, "vae_scale_factor", 8)
    latent_pixels = (request.width // scale) * (request.height // scale)
    return int(latent_pixels * _first_channels(pipe.unet, 320) * _element_bytes(pipe.unet) * UNET_FACTOR
               + OVERHEAD_BYTES)


def vae_phase_bytes(model: Any, request: Any) -> int:
    pipe = model.pipe
    pixels = request.width * request.height
    if getattr(pipe.vae, "use_tiling", False):
        pixels = min(pixels, VAE_TILE_SIDE * VAE_TILE_SIDE)
    return int(pixels * _first_channels(pipe.vae, 128) * _element_bytes(pipe.vae) * VAE_FACTOR + OVERHEAD_BYTES)


def estimate_peak_bytes(model: Any, request: Any) -> int:
    """Memory one image of `request` needs beyond the loaded weights (images run one at a time)."""
    return max(unet_phase_bytes(model, request), vae_phase_bytes(model, request))


def device_memory_bytes(device: str) -> int | None:
    """The device's total memory (CPU and Apple GPUs share the system's RAM); None when unknown."""
    try:
        if device == "cuda":
            import torch

            return int(torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory)
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # no way to ask: never refuse on a guess
        return None


def weights_on_device_bytes(model: Any) -> int:
    """What the loaded weights already take on the device (with CPU offload, only the largest part)."""
    sizes = []
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        module = getattr(model.pipe, name, None)
        if module is not None:
            sizes.append(sum(p.numel() * p.element_size() for p in module.parameters()))
    from aae_desktop.engine.models.devices import uses_offload

    if uses_offload(model.device, model.options):  # CUDA only: elsewhere the option is not used
        return max(sizes, default=0)
    return sum(sizes)


def check_fits(model: Any, request: Any) -> None:
    """Raise InvalidRequest (field "size") when the run cannot fit beside the weights on the device."""
    total = device_memory_bytes(model.device)
    if total is None:
        return
    available = total - weights_on_device_bytes(model)
    needed = estimate_peak_bytes(model, request)
    if needed <= available:
        return
    where = {"cuda": "GPU", "mps": "Apple GPU"}.get(model.device, "computer")
    decode_bound = vae_phase_bytes(model, request) > unet_phase_bytes(model, request)
    tiling = " or turn on VAE tiling" if decode_bound and not getattr(model.pipe.vae, "use_tiling", False) else ""
    raise InvalidRequest(
        f"{{field}} {request.width} × {request.height} needs about {needed / GIB:.1f} GB of memory, more than the "
        f"{max(available, 0) / GIB:.1f} GB this {where} has beside the model. Choose a smaller size{tiling}.",
        "size",
    )
