"""The Attend-and-Excite maths: text softmax, smoothing, per-token maxima, loss and step sizes."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_kernel(kernel_size: int = 3, sigma: float = 0.5) -> torch.Tensor:
    """2-D smoothing kernel, normalised to sum 1.

    The paper's code divides the offset by 2*sigma inside the square (not by sqrt(2)*sigma);
    we keep that exact shape so images match the published method and diffusers' reference.
    """
    coords = torch.arange(kernel_size, dtype=torch.float32) - (kernel_size - 1) / 2
    one_d = torch.exp(-((coords / (2 * sigma)) ** 2)) / (sigma * math.sqrt(2 * math.pi))
    kernel = one_d[:, None] * one_d[None, :]
    return kernel / kernel.sum()


def text_attention(aggregated: torch.Tensor, stop: int | None = None) -> torch.Tensor:
    """Softmax (x100) over the text tokens between the start token and `stop` (exclusive).

    stop=None drops only the last position (SD 1.x behaviour); for SD 2.x the caller passes the
    end-of-text index so padding tokens cannot soak up the attention.
    Column j of the result belongs to token index j + 1.
    """
    end = -1 if stop is None else stop
    return torch.softmax(aggregated[:, :, 1:end] * 100, dim=-1)


def token_maps(text_probs: torch.Tensor, token_indices: list[int]) -> torch.Tensor:
    """(k, h, w) maps of the chosen tokens."""
    return text_probs[:, :, [i - 1 for i in token_indices]].permute(2, 0, 1)


def smooth(maps: torch.Tensor, kernel_size: int = 3, sigma: float = 0.5) -> torch.Tensor:
    """Each (h, w) map of `maps` (k, h, w) convolved with the paper's Gaussian kernel."""
    k = maps.shape[0]
    pad = kernel_size // 2
    x = maps.unsqueeze(0)
    # Reflection needs the map to be larger than the pad; tiny grids fall back to replication.
    mode = "reflect" if min(maps.shape[-2:]) > pad else "replicate"
    x = F.pad(x, (pad, pad, pad, pad), mode=mode)
    weight = gaussian_kernel(kernel_size, sigma).to(maps.device, maps.dtype).expand(k, 1, kernel_size, kernel_size)
    return F.conv2d(x, weight, groups=k).squeeze(0)


def max_attention(maps: torch.Tensor, smooth_maps: bool = True, kernel_size: int = 3, sigma: float = 0.5) -> torch.Tensor:
    """Per-token peak attention (k,), after optional Gaussian smoothing of each map."""
    if smooth_maps:
        maps = smooth(maps, kernel_size, sigma)
    return maps.flatten(1).amax(dim=1)


def excite_loss(maxima: torch.Tensor) -> torch.Tensor:
    """The most neglected token decides: max over tokens of max(0, 1 - peak)."""
    return torch.clamp(1.0 - maxima, min=0).max()


def step_sizes(scale_factor: float, scale_range: tuple[float, float], num_timesteps: int) -> np.ndarray:
    """Gradient step size per denoising step: scale_factor * sqrt(linspace(start, end))."""
    return scale_factor * np.sqrt(np.linspace(scale_range[0], scale_range[1], num_timesteps))
