"""Scheduler choice: a fresh diffusers scheduler per image, built from the model's own config."""
from __future__ import annotations

from typing import Any

import diffusers
import torch
from diffusers import EulerAncestralDiscreteScheduler
from diffusers.schedulers.scheduling_euler_ancestral_discrete import EulerAncestralDiscreteSchedulerOutput
from diffusers.utils.torch_utils import randn_tensor

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.run.sampler_catalogue import SCHEDULERS


class EulerAncestralWithEta(EulerAncestralDiscreteScheduler):
    """Euler a that takes an eta, as A1111's ancestral samplers do (k-diffusion's ancestral step).

    Of the noise a step removes down to sigma_to, a share set by eta is put back fresh: the fresh
    part is sigma_up = min(sigma_to, eta * sqrt(sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2))
    and the deterministic Euler step goes to sigma_down = sqrt(sigma_to^2 - sigma_up^2).
    eta = 1 is diffusers' own step (delegated to it, so it stays exactly the same); eta = 0 is plain
    Euler. diffusers' scheduler has no eta, hence this subclass.
    """

    def step(self, model_output: torch.Tensor, timestep: Any, sample: torch.Tensor,
             generator: torch.Generator | None = None, return_dict: bool = True, eta: float = 1.0) -> Any:
        if eta == 1.0:
            return super().step(model_output, timestep, sample, generator=generator, return_dict=return_dict)
        if self.step_index is None:
            self._init_step_index(timestep)
        sigma_from = self.sigmas[self.step_index]
        sigma_to = self.sigmas[self.step_index + 1]
        sample = sample.to(torch.float32)  # as diffusers: upcast for the update
        if self.config.prediction_type == "epsilon":
            clean = sample - sigma_from * model_output
        elif self.config.prediction_type == "v_prediction":
            clean = model_output * (-sigma_from / (sigma_from**2 + 1) ** 0.5) + sample / (sigma_from**2 + 1)
        else:
            raise ValueError(f"Euler a cannot step a model that predicts {self.config.prediction_type!r}.")
        full_up = (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
        sigma_up = torch.minimum(sigma_to, eta * full_up)
        sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
        derivative = (sample - clean) / sigma_from
        prev = sample + derivative * (sigma_down - sigma_from)
        noise = randn_tensor(model_output.shape, dtype=model_output.dtype, device=model_output.device,
                             generator=generator)
        prev = (prev + noise * sigma_up).to(model_output.dtype)
        self._step_index += 1
        if not return_dict:
            return prev, clean
        return EulerAncestralDiscreteSchedulerOutput(prev_sample=prev, pred_original_sample=clean)


# diffusers classes swapped for a subclass that adds an option artists expect (same maths otherwise).
_EXTENDED: dict[type, type] = {EulerAncestralDiscreteScheduler: EulerAncestralWithEta}


def make_scheduler(model_scheduler: Any, name: str) -> Any:
    """A new scheduler instance (so stateful multistep schedulers never leak between runs)."""
    if name not in SCHEDULERS:
        raise InvalidRequest(f"Unknown {{field}} '{name}'. Choose one of: {', '.join(SCHEDULERS)}.", "scheduler")
    class_name, extra = SCHEDULERS[name]
    cls = type(model_scheduler) if not class_name else getattr(diffusers, class_name)
    cls = _EXTENDED.get(cls, cls)
    return cls.from_config(model_scheduler.config, **extra)


def diffusers_class_name(scheduler: Any) -> str:
    """The diffusers class a scheduler is (or extends): what metadata and ETA_DEFAULTS know it by."""
    for cls in type(scheduler).__mro__:
        if cls.__module__.startswith("diffusers."):
            return cls.__name__
    return type(scheduler).__name__
