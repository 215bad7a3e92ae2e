"""Scheduler choice: a fresh diffusers scheduler per image, built from the model's own config."""
from __future__ import annotations

from typing import Any

import diffusers

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import SCHEDULERS


def make_scheduler(model_scheduler: Any, name: str) -> Any:
    """A new scheduler instance (so stateful multistep schedulers never leak between runs)."""
    if name not in SCHEDULERS:
        raise InvalidRequest(f"Unknown scheduler '{name}'. Choose one of: {', '.join(SCHEDULERS)}.")
    class_name, extra = SCHEDULERS[name]
    cls = type(model_scheduler) if not class_name else getattr(diffusers, class_name)
    return cls.from_config(model_scheduler.config, **extra)
