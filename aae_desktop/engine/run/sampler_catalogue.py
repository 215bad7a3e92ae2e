"""Every sampler the app offers, one record each: its key, its label in the window, the diffusers
scheduler (class and options) the engine builds, its name in A1111 text and the eta it uses when
none is set. The tables the rest of the app reads (SCHEDULERS, SCHEDULER_LABELS, ETA_DEFAULTS, the
A1111 names) are derived from it, so a sampler is added or corrected in one place.

No torch or diffusers here: the window, the CLI and the gallery read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Sampler:
    key: str  # what the UI, the CLI and the saved metadata use
    label: str  # what the window shows
    diffusers_class: str  # "" = the scheduler the model folder ships with
    options: Mapping[str, Any] = field(default_factory=dict)
    a1111_name: str = ""  # A1111's "Sampler" (A1111 calls PNDM "PLMS")
    a1111_schedule: str | None = None  # A1111's "Schedule type", as current A1111 versions write it
    eta_default: float | None = None  # the eta its step uses when none is set; None = it takes no eta


# A sampler is built from the model's scheduler config (its noise schedule), so every option that
# config may set differently (a fine-tune shipping DPM++ SDE Karras, 3rd order) is pinned here.
_PLAIN_SIGMAS = {"use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False}

# Eta defaults are A1111's too: DDIM's share of fresh noise (0 = deterministic) and the ancestral
# samplers' (1 = a full ancestral step; 0 = plain Euler). Every other sampler ignores eta.
CATALOGUE: tuple[Sampler, ...] = (
    Sampler("default", "Model default", "", {}, "Default"),
    # clipping x0 to [-1, 1] would distort SD latents
    Sampler("ddim", "DDIM", "DDIMScheduler", {"clip_sample": False}, "DDIM", eta_default=0.0),
    Sampler("pndm", "PNDM", "PNDMScheduler", {"skip_prk_steps": True}, "PLMS"),
    Sampler("lms", "LMS", "LMSDiscreteScheduler", _PLAIN_SIGMAS, "LMS"),
    Sampler("euler", "Euler", "EulerDiscreteScheduler", _PLAIN_SIGMAS, "Euler"),
    Sampler("euler_a", "Euler a", "EulerAncestralDiscreteScheduler", {}, "Euler a", eta_default=1.0),
    Sampler("dpmpp_2m_karras", "DPM++ 2M Karras", "DPMSolverMultistepScheduler",
            {**_PLAIN_SIGMAS, "use_karras_sigmas": True, "algorithm_type": "dpmsolver++", "solver_order": 2,
             "euler_at_final": False}, "DPM++ 2M", "Karras"),
)

SAMPLERS: dict[str, Sampler] = {s.key: s for s in CATALOGUE}
# key -> (diffusers class, options that make it that sampler)
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {s.key: (s.diffusers_class, dict(s.options)) for s in CATALOGUE}
SCHEDULER_LABELS: dict[str, str] = {s.key: s.label for s in CATALOGUE}
# diffusers class -> default eta, for the samplers whose step takes one
ETA_DEFAULTS: dict[str, float] = {s.diffusers_class: s.eta_default for s in CATALOGUE if s.eta_default is not None}
# key -> (A1111 "Sampler", "Schedule type")
A1111_NAMES: dict[str, tuple[str, str | None]] = {s.key: (s.a1111_name, s.a1111_schedule) for s in CATALOGUE}
# What "default" (the model's own scheduler) was, by diffusers class, for readers of the A1111 text:
# the model's own options, so no schedule type is claimed.
A1111_NAMES_BY_CLASS: dict[str, tuple[str, str | None]] = {
    s.diffusers_class: (s.a1111_name, None) for s in CATALOGUE if s.diffusers_class}


def sampler_class(scheduler: str, model_default_class: str = "") -> str:
    """The diffusers class a scheduler key runs ("default": the model's own, when known)."""
    sampler = SAMPLERS.get(scheduler)
    return (sampler.diffusers_class if sampler else "") or model_default_class


def eta_default(scheduler: str, model_default_class: str = "") -> float | None:
    """The eta this sampler uses when none is set; None when the sampler ignores eta."""
    return ETA_DEFAULTS.get(sampler_class(scheduler, model_default_class))
