"""Which convolution kernels the UNet uses on the CPU.

PyTorch sends fp32 CPU convolutions to oneDNN, which copies every weight into its own blocked
layout on every call (PyTorch keeps no such copy for ordinary weight tensors, with or without
autograd). At
SD 1.x widths that is about 2.4 GB of freshly allocated, page-faulted buffers per gradient pass
(the 1280-channel weights alone are 59-118 MB each). PyTorch's native kernels (im2col + BLAS)
read the weights where they are. Measured on a 2-core AVX2 CPU, SD 1.x widths: at 256 px,
gradient passes are about 1.7x and guidance forwards about 1.3x faster natively; at 512 px both
kernels take the same time; above that the im2col buffers grow with the image, so oneDNN keeps
those sizes. The VAE (large images, few weights) always keeps oneDNN.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

# Latent grids up to 64x64 (512 px with SD's VAE) get the native kernels.
NATIVE_MAX_LATENT_PIXELS = 64 * 64


def prefers_native_convolutions(device: str, dtype: torch.dtype, latent_h: int, latent_w: int) -> bool:
    """True where the native kernels measured faster (or equal): fp32 on the CPU, latents up to 64x64."""
    return device == "cpu" and dtype == torch.float32 and latent_h * latent_w <= NATIVE_MAX_LATENT_PIXELS


@contextmanager
def native_convolutions(enabled: bool) -> Iterator[None]:
    """Turn oneDNN off for the calls inside (when `enabled`), and restore the previous setting."""
    if not enabled or not torch.backends.mkldnn.is_available():
        yield
        return
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous
