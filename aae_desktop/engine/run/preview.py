"""Cheap previews: latent -> RGB without the VAE, and the predicted clean latent of a step."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from aae_desktop.engine.models.families import DEFAULT_FAMILY, ModelFamily, get_family


def latent_to_rgb(latent: torch.Tensor, family: ModelFamily | None = None) -> Image.Image:
    """(4, h, w) or (1, 4, h, w) latent -> small RGB image at latent resolution.

    A linear fit per family (its VAE's latent space; SD 1.x when not given): good enough to show
    composition and colour while the image forms, at no cost.
    """
    family = family or get_family(DEFAULT_FAMILY)
    factors = torch.tensor(family.latent_rgb_factors)
    bias = torch.tensor(family.latent_rgb_bias)
    latent = latent.detach().float().reshape(-1, *latent.shape[-2:])[:4].cpu()
    rgb = torch.einsum("chw,cr->hwr", latent, factors) + bias
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
