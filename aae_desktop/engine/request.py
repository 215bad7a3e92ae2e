"""GenerationRequest: the one value that determines the pixels, with validation and (de)serialisation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from aae_desktop.engine.errors import InvalidRequest

SCHEMA_VERSION = 1

# Keys are what the UI, the CLI and the saved metadata use; values are diffusers classes and the
# extra config they need. "default" keeps the scheduler the model folder ships with.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("", {}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
    "lms": ("LMSDiscreteScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++"}),
}

SCHEDULER_LABELS: dict[str, str] = {
    "default": "Model default",
    "ddim": "DDIM",
    "pndm": "PNDM",
    "lms": "LMS",
    "euler": "Euler",
    "euler_a": "Euler a",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
}

PAPER_THRESHOLDS: tuple[tuple[int, float], ...] = ((0, 0.05), (10, 0.5), (20, 0.8))
MAX_PROMPT_TOKENS = 75  # CLIP's 77 positions minus start and end tokens


@dataclass(frozen=True)
class ExciteSettings:
    """Attend-and-Excite options; defaults are the paper's (and diffusers' reference) values."""

    enabled: bool = True
    token_indices: tuple[int, ...] = ()
    max_iter_to_alter: int = 25
    thresholds: tuple[tuple[int, float], ...] = PAPER_THRESHOLDS
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
    # None = automatic: on for SD 2.x models, off for SD 1.x.
    softmax_stop_at_eot: bool | None = None

    @property
    def threshold_map(self) -> dict[int, float]:
        return dict(self.thresholds)


@dataclass(frozen=True)
class GenerationRequest:
    """Everything that changes the pixels. Built by the UI/CLI, run by the engine, saved in PNGs."""

    model: str
    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    num_images: int = 1
    steps: int = 50
    guidance_scale: float = 7.5
    width: int = 512
    height: int = 512
    scheduler: str = "default"
    excite: ExciteSettings = field(default_factory=ExciteSettings)

    def replace(self, **changes: Any) -> "GenerationRequest":
        return dataclasses.replace(self, **changes)

    def with_excite(self, **changes: Any) -> "GenerationRequest":
        return dataclasses.replace(self, excite=dataclasses.replace(self.excite, **changes))

    def for_image(self, i: int) -> "GenerationRequest":
        """The single-image request that reproduces image i of this batch on its own."""
        return dataclasses.replace(self, seed=self.seed + i, num_images=1)

    # -- validation -----------------------------------------------------------------------------
    def validate(self, tokenizer: Any | None = None) -> list[str]:
        """Raise InvalidRequest for the first problem; return warnings (e.g. truncation).

        Without a tokenizer only the checks that need no tokens run.
        """
        warnings: list[str] = []
        if not self.prompt or not self.prompt.strip():
            raise InvalidRequest("The prompt is empty: describe the image you want.")
        for name, value in (("width", self.width), ("height", self.height)):
            if value < 64 or value % 8:
                raise InvalidRequest(f"{name} must be a multiple of 8 and at least 64 (got {value}).")
        if self.steps < 1:
            raise InvalidRequest(f"steps must be at least 1 (got {self.steps}).")
        if self.num_images < 1:
            raise InvalidRequest(f"number of images must be at least 1 (got {self.num_images}).")
        if self.guidance_scale < 0:
            raise InvalidRequest(f"guidance scale must not be negative (got {self.guidance_scale}).")
        if not 0 <= self.seed < 2**63:
            raise InvalidRequest(f"seed must be between 0 and 2^63-1 (got {self.seed}).")
        if self.scheduler not in SCHEDULERS:
            known = ", ".join(SCHEDULERS)
            raise InvalidRequest(f"Unknown scheduler '{self.scheduler}'. Choose one of: {known}.")
        self._validate_excite()
        if tokenizer is not None:
            warnings += self._validate_tokens(tokenizer)
        return warnings

    def _validate_excite(self) -> None:
        ex = self.excite
        if not ex.enabled:
            return
        if not ex.token_indices:
            raise InvalidRequest(
                "Choose at least one word to excite (or switch Attend-and-Excite off for plain Stable Diffusion)."
            )
        if len(set(ex.token_indices)) != len(ex.token_indices):
            raise InvalidRequest(f"Token indices contain duplicates: {list(ex.token_indices)}.")
        if 0 in ex.token_indices:
            raise InvalidRequest("Token index 0 is the start-of-text token; pick word tokens (1 and up).")
        if any(i < 0 for i in ex.token_indices):
            raise InvalidRequest(f"Token indices must be positive: {list(ex.token_indices)}.")
        if ex.max_iter_to_alter < 0 or ex.max_iter_to_alter > self.steps:
            raise InvalidRequest(
                f"max_iter_to_alter must be between 0 and the number of steps ({self.steps}); got {ex.max_iter_to_alter}."
            )
        steps_seen: set[int] = set()
        for step, value in ex.thresholds:
            if not 0 <= step < self.steps:
                raise InvalidRequest(
                    f"Threshold step {step} is out of range: steps run from 0 to {self.steps - 1}."
                )
            if step in steps_seen:
                raise InvalidRequest(f"Threshold step {step} is listed twice.")
            steps_seen.add(step)
            if not 0 < value <= 1:
                raise InvalidRequest(f"Threshold at step {step} must be in (0, 1]; got {value}.")
        if ex.scale_factor < 0:
            raise InvalidRequest(f"scale factor must not be negative (got {ex.scale_factor}).")
        if ex.smooth_attentions and (ex.sigma <= 0 or ex.kernel_size < 1 or ex.kernel_size % 2 == 0):
            raise InvalidRequest("Smoothing needs sigma > 0 and an odd kernel size.")
        if ex.max_refinement_steps < 0:
            raise InvalidRequest("The refinement cap must not be negative.")
        if ex.attn_res is not None and (len(ex.attn_res) != 2 or min(ex.attn_res) < 1):
            raise InvalidRequest(f"attn_res must be two positive sizes (got {ex.attn_res}).")

    def _validate_tokens(self, tokenizer: Any) -> list[str]:
        from aae_desktop.engine.tokens import tokenize_prompt

        parsed = tokenize_prompt(tokenizer, self.prompt)
        warnings = []
        if parsed.truncated:
            warnings.append(
                f"The prompt has {parsed.total_word_tokens} tokens; only the first {MAX_PROMPT_TOKENS} are used."
            )
        if self.excite.enabled:
            last = parsed.last_word_index
            for i in self.excite.token_indices:
                if i == parsed.eot_index:
                    raise InvalidRequest(f"Token index {i} is the end-of-text token; pick word tokens 1..{last}.")
                if i > last:
                    raise InvalidRequest(
                        f"Token index {i} is past the prompt's last word token ({last}); it would be padding."
                    )
        return warnings

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["excite"]["token_indices"] = list(self.excite.token_indices)
        data["excite"]["thresholds"] = {str(k): v for k, v in self.excite.thresholds}
        data["excite"]["scale_range"] = list(self.excite.scale_range)
        data["excite"]["attn_res"] = list(self.excite.attn_res) if self.excite.attn_res else None
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GenerationRequest":
        """Rebuild a request saved by to_dict(); unknown keys are ignored, missing ones default."""
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise InvalidRequest(f"Settings were saved by a newer version (schema {version}); please update the app.")
        try:
            ex_data = dict(data.get("excite") or {})
            excite_fields = {f.name for f in dataclasses.fields(ExciteSettings)}
            ex_kwargs = {k: v for k, v in ex_data.items() if k in excite_fields}
            if "token_indices" in ex_kwargs:
                ex_kwargs["token_indices"] = tuple(int(i) for i in ex_kwargs["token_indices"])
            if "thresholds" in ex_kwargs:
                ex_kwargs["thresholds"] = parse_thresholds(ex_kwargs["thresholds"])
            if "scale_range" in ex_kwargs:
                ex_kwargs["scale_range"] = tuple(float(v) for v in ex_kwargs["scale_range"])
            if ex_kwargs.get("attn_res") is not None:
                ex_kwargs["attn_res"] = tuple(int(v) for v in ex_kwargs["attn_res"])
            req_fields = {f.name for f in dataclasses.fields(cls)} - {"excite"}
            kwargs = {k: v for k, v in data.items() if k in req_fields}
            for key in ("seed", "num_images", "steps", "width", "height"):
                if key in kwargs:
                    kwargs[key] = int(kwargs[key])
            if "guidance_scale" in kwargs:
                kwargs["guidance_scale"] = float(kwargs["guidance_scale"])
            return cls(excite=ExciteSettings(**ex_kwargs), **kwargs)
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(f"Saved settings are malformed: {exc}") from exc


def parse_thresholds(value: Any) -> tuple[tuple[int, float], ...]:
    """Accept {"0": 0.05}, [[0, 0.05]] or "0:0.05,10:0.5"; return sorted ((step, value), ...)."""
    if isinstance(value, str):
        pairs = []
        for part in value.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if ":" not in part:
                raise InvalidRequest(f"Threshold '{part}' should look like STEP:VALUE, e.g. 10:0.5.")
            step, _, val = part.partition(":")
            try:
                pairs.append((int(step), float(val)))
            except ValueError:
                raise InvalidRequest(f"Threshold '{part}' should look like STEP:VALUE, e.g. 10:0.5.") from None
    elif isinstance(value, Mapping):
        pairs = [(int(k), float(v)) for k, v in value.items()]
    else:
        pairs = [(int(k), float(v)) for k, v in value]
    return tuple(sorted(pairs))


def format_thresholds(thresholds: tuple[tuple[int, float], ...]) -> str:
    return ",".join(f"{step}:{value:g}" for step, value in thresholds)
