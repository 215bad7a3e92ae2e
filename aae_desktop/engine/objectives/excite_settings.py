"""What a request asks of Attend-and-Excite: the chosen tokens, the schedule, the step size, smoothing and
refinement; and the thresholds as the artist types them ("0:0.05,10:0.5" or "none")."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.run.schedule import Thresholds


@dataclass(frozen=True)
class ExciteSettings:
    """Attend-and-Excite options; defaults are the paper's (and diffusers' reference) values.

    `max_iter_to_alter` and `thresholds` left at None follow the step count (engine/run/schedule.py);
    GenerationRequest.resolved() turns them into the numbers a run uses.
    """

    enabled: bool = True
    token_indices: tuple[int, ...] = ()
    max_iter_to_alter: int | None = None
    thresholds: Thresholds | None = None
    scale_factor: float = 20.0
    # Step size is scale_factor * sqrt(linspace(start, end, num_timesteps)).
    scale_range: tuple[float, float] = (1.0, 0.5)
    smooth_attentions: bool = True
    sigma: float = 0.5
    kernel_size: int = 3
    max_refinement_steps: int = 20
    # (height, width) of the attention maps the loss reads; None derives it from the latent grid.
    attn_res: tuple[int, int] | None = None
    # Softmax over text tokens ends at the end-of-text token (original repo's SD 2.1 fix).
    # None = the model family's default (families.py): on for SD 2.x and SDXL, off for SD 1.x.
    softmax_stop_at_eot: bool | None = None

    @property
    def threshold_map(self) -> dict[int, float]:
        if self.thresholds is None:
            raise ValueError("thresholds follow the step count: read them from GenerationRequest.resolved()")
        return dict(self.thresholds)


def require_finite(field_name: str, value: float, what: str = "") -> None:
    """nan/inf compare false with every bound, so each float is checked for being a number first."""
    if not math.isfinite(value):
        where = f"{{field}}: {what}" if what else "{field}"
        raise InvalidRequest(f"{where} must be a finite number (got {value}).", field_name)


NO_THRESHOLDS = "none"


def parse_thresholds(value: Any) -> Thresholds:
    """Accept {"0": 0.05}, [[0, 0.05]], "0:0.05,10:0.5" or "none"; return sorted ((step, value), ...)."""
    if isinstance(value, str):
        pairs = []
        if value.strip().lower() == NO_THRESHOLDS:
            return ()
        for part in value.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if ":" not in part:
                raise InvalidRequest(f"{{field}}: '{part}' should look like STEP:VALUE, e.g. 10:0.5.",
                                     "excite.thresholds")
            step, _, val = part.partition(":")
            try:
                pairs.append((int(step), float(val)))
            except ValueError:
                raise InvalidRequest(f"{{field}}: '{part}' should look like STEP:VALUE, e.g. 10:0.5.",
                                     "excite.thresholds") from None
    elif isinstance(value, Mapping):
        pairs = [(int(k), float(v)) for k, v in value.items()]
    else:
        pairs = [(int(k), float(v)) for k, v in value]
    for step, val in pairs:
        require_finite("excite.thresholds", val, f"the value at step {step}")
    return tuple(sorted(pairs))


def format_thresholds(thresholds: Thresholds) -> str:
    """'0:0.05,10:0.5' -- or 'none', which parse_thresholds reads back as no threshold steps."""
    return ",".join(f"{step}:{value:g}" for step, value in thresholds) or NO_THRESHOLDS
