"""Cheap previews: latent -> RGB without the VAE, and the predicted clean latent of a step."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

# Linear fit from SD 1.x/2.x latent channels to RGB (a widely used approximation; good enough
# to show composition and colour while the image forms).
_LATENT_TO_RGB = torch.tensor(
    [
        [0.298, 0.207, 0.208],
        [0.187, 0.286, 0.173],
        [-0.158, 0.189, 0.264],
        [-0.184, -0.271, -0.473],
    ]
)


def latent_to_rgb(latent: torch.Tensor) -> Image.Image:
    """(4, h, w) or (1, 4, h, w) latent -> small RGB image at latent resolution."""
    latent = latent.detach().float().reshape(-1, *latent.shape[-2:])[:4].cpu()
    rgb = torch.einsum("chw,cr->hwr", latent, _LATENT_TO_RGB)
    rgb = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


def predicted_clean_latent(scheduler: Any, step_output: Any, model_input: torch.Tensor, noise_pred: torch.Tensor,
                           t: Any) -> torch.Tensor:
    """x0 estimate: the scheduler's own when it reports one, else from alphas_cumprod.

    `model_input` is the scaled (variance-preserving) latent the UNet saw, so one formula
    serves sigma-based and alpha-based schedulers alike.
    """
    x0 = getattr(step_output, "pred_original_sample", None)
    if x0 is not None:
        return x0
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return model_input
    a = alphas[int(torch.as_tensor(t).round().item())].to(model_input.device, torch.float32)
    x, eps = model_input.float(), noise_pred.float()
    if getattr(scheduler.config, "prediction_type", "epsilon") == "v_prediction":
        return a.sqrt() * x - (1 - a).sqrt() * eps
    return (x - (1 - a).sqrt() * eps) / a.sqrt()
