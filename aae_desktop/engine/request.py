"""GenerationRequest: the one value that determines the pixels, with validation and (de)serialisation."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from aae_desktop.engine.objectives.bind_settings import BindSettings, bind_problem
from aae_desktop.engine.objectives.box_settings import BoxSettings, box_problem
from aae_desktop.engine.errors import FieldNote, InvalidRequest
from aae_desktop.engine.run.sampler_catalogue import (  # noqa: F401 (re-exported)
    ETA_DEFAULTS,
    SCHEDULER_LABELS,
    SCHEDULERS,
    eta_default,
    sampler_class,
)
from aae_desktop.engine.tokens import MAX_PROMPT_TOKENS, tokenize_request
from aae_desktop.engine.addons.file_refs import MAX_LORA_WEIGHT, EmbeddingRef, LoraRef  # noqa: F401 (re-exported)
from aae_desktop.engine.objectives.excite_settings import (  # noqa: F401 (re-exported)
    NO_THRESHOLDS,
    ExciteSettings,
    format_thresholds,
    parse_thresholds,
    require_finite as _require_finite,
)
from aae_desktop.engine.run.schedule import (
    PAPER_MAX_ITER_TO_ALTER,
    PAPER_THRESHOLDS,
    Schedule,
    resolve_schedule,
)
from aae_desktop.engine.untrusted_values import (
    SEED_LIMIT,
    read_float,
    read_int,
    read_list,
    read_pair,
    read_token_indices,
    typed_fields,
)

# 2: max_iter_to_alter / thresholds may be null (follow the step count); clip_skip and eta.
# Schema 1 always held numbers for the schedule, and is still read.
SCHEMA_VERSION = 2

# The samplers (keys, labels, diffusers classes, eta defaults) live in engine.sampler_catalogue; these
# names stay importable from here for the UI, the CLI and the tests.
# A1111's "Clip skip" slider goes to 12, the depth of SD 1.x's text encoder.
MAX_CLIP_SKIP = 12
# Beyond these no model gives a useful image, and the first UNet call alone would take hours.
# The model's own limits (its scheduler's training steps, the device's memory) are checked when it runs.
MAX_SIDE = 4096  # pixels; SD 1.x/2.x were trained at 512/768 and repeat subjects far beyond
MAX_STEPS = 1000  # the number of noise levels every SD 1.x/2.x scheduler was trained with




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
    # A1111's count: 1 = the text encoder's last layer (no skip), 2 = the layer before it, ...
    clip_skip: int = 1
    # Noise share of DDIM and ancestral samplers; None = the sampler's own default (ETA_DEFAULTS).
    eta: float | None = None
    excite: ExciteSettings = field(default_factory=ExciteSettings)
    # The prompt's `<lora:...>` tags, resolved to files, and the embeddings its words use.
    loras: tuple[LoraRef, ...] = ()
    embeddings: tuple[EmbeddingRef, ...] = ()
    # Binding (SynGen): modifiers pulled onto their nouns' maps (engine/objectives/bind.py).
    bind: BindSettings = field(default_factory=BindSettings)
    # Boxes (BoxDiff): a word's map pushed into its box (engine/objectives/boxes.py).
    boxes: BoxSettings = field(default_factory=BoxSettings)

    def replace(self, **changes: Any) -> "GenerationRequest":
        return dataclasses.replace(self, **changes)

    def with_excite(self, **changes: Any) -> "GenerationRequest":
        return dataclasses.replace(self, excite=dataclasses.replace(self.excite, **changes))

    def for_image(self, i: int) -> "GenerationRequest":
        """The single-image request that reproduces image i of this batch on its own."""
        return dataclasses.replace(self, seed=self.seed + i, num_images=1)

    # -- the schedule at this step count ----------------------------------------------------------
    def schedule(self) -> Schedule:
        """The excite steps and thresholds this request runs with, and notes on any adapted value."""
        return resolve_schedule(self.steps, self.excite.max_iter_to_alter, self.excite.thresholds)

    def resolved(self) -> "GenerationRequest":
        """This request with the numbers it runs with: what the engine runs and what metadata stores,
        so restoring an image reproduces it even if the automatic schedule ever changes."""
        schedule = self.schedule()
        if (schedule.max_iter_to_alter, schedule.thresholds) == (self.excite.max_iter_to_alter,
                                                                  self.excite.thresholds):
            return self
        return self.with_excite(max_iter_to_alter=schedule.max_iter_to_alter, thresholds=schedule.thresholds)

    # -- validation -----------------------------------------------------------------------------
    def validate(self, tokenizer: Any | None = None) -> list[str]:
        """Raise InvalidRequest for the first problem; return warnings (e.g. truncation).

        Without a tokenizer only the checks that need no tokens run.
        """
        warnings: list[str] = []
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidRequest("The prompt is empty: describe the image you want.", "prompt")
        for name, value in (("width", self.width), ("height", self.height)):
            if value < 64 or value % 8:
                raise InvalidRequest(f"{{field}} must be a multiple of 8 and at least 64 (got {value}).", name)
            if value > MAX_SIDE:
                raise InvalidRequest(f"{{field}} must be at most {MAX_SIDE} pixels (got {value}).", name)
        if self.steps < 1:
            raise InvalidRequest(f"{{field}} must be at least 1 (got {self.steps}).", "steps")
        if self.steps > MAX_STEPS:
            raise InvalidRequest(f"{{field}} must be at most {MAX_STEPS}, the number of noise levels Stable "
                                 f"Diffusion is trained with (got {self.steps}).", "steps")
        if self.num_images < 1:
            raise InvalidRequest(f"{{field}} must be at least 1 (got {self.num_images}).", "num_images")
        _require_finite("guidance_scale", self.guidance_scale)
        if self.guidance_scale < 0:
            raise InvalidRequest(f"{{field}} must not be negative (got {self.guidance_scale}).", "guidance_scale")
        if not 0 <= self.seed < SEED_LIMIT:
            raise InvalidRequest(f"{{field}} must be between 0 and 2^63-1 (got {self.seed}).", "seed")
        last_seed = self.seed + self.num_images - 1
        if last_seed >= SEED_LIMIT:
            raise InvalidRequest(
                f"{{field}} {self.seed} with {{images}} {self.num_images} runs past the largest seed, 2^63-1 "
                f"(image i uses seed + i): use a seed of at most {SEED_LIMIT - self.num_images}.", "seed",
                also={"images": "num_images"})
        if self.scheduler not in SCHEDULERS:
            known = ", ".join(SCHEDULERS)
            raise InvalidRequest(f"Unknown scheduler '{self.scheduler}'. Choose one of: {known}.", "scheduler")
        if not 1 <= self.clip_skip <= MAX_CLIP_SKIP:
            raise InvalidRequest(f"{{field}} must be between 1 (no skip) and {MAX_CLIP_SKIP} (got {self.clip_skip}).",
                                 "clip_skip")
        if self.eta is not None:
            if not 0.0 <= self.eta <= 1.0:  # also refuses NaN
                raise InvalidRequest(f"{{field}} must be between 0 and 1 (got {self.eta}).", "eta")
            if self.scheduler != "default" and eta_default(self.scheduler) is None:
                label = SCHEDULER_LABELS.get(self.scheduler, self.scheduler)
                warnings.append(FieldNote(f"{{field}} has no effect with {{sampler}} {label}: only DDIM and "
                                          "Euler a use it.", "eta", also={"sampler": "scheduler"}))
        warnings += self._validate_excite()
        if self.bind.enabled and (problem := bind_problem(self.bind, self.bind.prompt_length)):
            raise InvalidRequest(problem, "bind")
        if self.boxes.enabled and (problem := box_problem(self.boxes, self.boxes.prompt_length)):
            raise InvalidRequest(problem, "boxes")
        self._validate_addons()
        if tokenizer is not None:
            warnings += self._validate_tokens(tokenizer)
        return warnings

    def _validate_excite(self) -> list[str]:
        ex = self.excite
        if not ex.enabled:
            return []
        if not ex.token_indices:
            if self.bind.active or self.boxes.active:
                return []  # no word excited: binding or boxes alone, on their own schedule
            raise InvalidRequest(
                "Choose at least one word to excite (or switch Attend-and-Excite off for plain Stable Diffusion).",
                "excite.token_indices",
            )
        if len(set(ex.token_indices)) != len(ex.token_indices):
            raise InvalidRequest(f"Token indices contain duplicates: {list(ex.token_indices)}.", "excite.token_indices")
        if 0 in ex.token_indices:
            raise InvalidRequest("Token index 0 is the start-of-text token; pick word tokens (1 and up).",
                                 "excite.token_indices")
        if any(i < 0 for i in ex.token_indices):
            raise InvalidRequest(f"Token indices must be positive: {list(ex.token_indices)}.", "excite.token_indices")
        if ex.max_iter_to_alter is not None and ex.max_iter_to_alter < 0:
            raise InvalidRequest(f"{{field}} must not be negative (got {ex.max_iter_to_alter}).",
                                 "excite.max_iter_to_alter")
        steps_seen: set[int] = set()
        for step, value in ex.thresholds or ():
            if step < 0:
                raise InvalidRequest(f"{{field}}: step {step} is negative; steps count from 0.", "excite.thresholds")
            if step in steps_seen:
                raise InvalidRequest(f"{{field}}: step {step} is listed twice.", "excite.thresholds")
            steps_seen.add(step)
            _require_finite("excite.thresholds", value, f"the value at step {step}")
            if not 0 < value <= 1:
                raise InvalidRequest(f"{{field}}: the value at step {step} must be in (0, 1]; got {value}.",
                                     "excite.thresholds")
        _require_finite("excite.scale_factor", ex.scale_factor)
        if ex.scale_factor < 0:
            raise InvalidRequest(f"{{field}} must not be negative (got {ex.scale_factor}).", "excite.scale_factor")
        for value in ex.scale_range:
            _require_finite("excite.scale_range", value)
        if ex.smooth_attentions:
            _require_finite("excite.sigma", ex.sigma)
            if ex.sigma <= 0:
                raise InvalidRequest(f"Smoothing needs {{field}} > 0 (got {ex.sigma}).", "excite.sigma")
            if ex.kernel_size < 1 or ex.kernel_size % 2 == 0:
                raise InvalidRequest(f"Smoothing needs an odd {{field}} (got {ex.kernel_size}).",
                                     "excite.kernel_size")
        if ex.max_refinement_steps < 0:
            raise InvalidRequest(f"{{field}} must not be negative (got {ex.max_refinement_steps}).",
                                 "excite.max_refinement_steps")
        if ex.attn_res is not None and (len(ex.attn_res) != 2 or min(ex.attn_res) < 1):
            raise InvalidRequest(f"{{field}} must be two positive sizes (got {ex.attn_res}).", "excite.attn_res")
        # Values that only misfit this step count are adapted, with a note, rather than refused.
        return list(self.schedule().notes)

    def _validate_addons(self) -> None:
        """The LoRA list and the prompt's tags say the same thing (the tags are what the artist sees)."""
        from aae_desktop.engine.prompt_syntax import find_lora_tags, format_weight

        refs = {ref.name.lower(): ref for ref in self.loras}
        if len(refs) != len(self.loras):
            raise InvalidRequest("A LoRA is listed twice; keep one entry per LoRA.", "loras")
        tags = find_lora_tags(self.prompt) + find_lora_tags(self.negative_prompt)
        seen: set[str] = set()
        for tag in tags:
            if not math.isfinite(tag.weight):
                raise InvalidRequest(f"The weight in <lora:{tag.name}:{tag.weight_text}> is not a number "
                                     f"(write e.g. <lora:{tag.name}:0.8>).", "loras")
            if not math.isfinite(tag.unet):
                raise InvalidRequest(f"The UNet weight in <lora:{tag.name}:{tag.weight_text}:{tag.unet_weight_text}> "
                                     f"is not a number (write e.g. <lora:{tag.name}:0.8:0.5>).", "loras")
            if tag.name.lower() in seen:
                raise InvalidRequest(f"The LoRA '{tag.name}' is in the prompt twice; keep one tag.", "loras")
            seen.add(tag.name.lower())
            ref = refs.get(tag.name.lower())
            if ref is None:
                raise InvalidRequest(f"The LoRA '{tag.name}' in the prompt was not found in the LoRA folder.",
                                     "loras")
            for what, in_tag, in_list in (("weight", tag.weight, ref.weight), ("UNet weight", tag.unet, ref.unet)):
                if not abs(in_list - in_tag) <= 1e-9:  # also refuses a nan in the list
                    raise InvalidRequest(f"The LoRA '{tag.name}' has {what} {format_weight(in_tag)} in the prompt "
                                         f"but {format_weight(in_list)} in the LoRA list.", "loras")
        for ref in self.loras:
            if ref.name.lower() not in seen:
                raise InvalidRequest(f"The LoRA '{ref.name}' has no <lora:{ref.name}> tag in the prompt.", "loras")
            for what, value in (("weight", ref.weight), ("UNet weight", ref.unet)):
                _require_finite("loras", value, f"the {what} of '{ref.name}'")
                if abs(value) > MAX_LORA_WEIGHT:
                    raise InvalidRequest(f"The {what} of the LoRA '{ref.name}' must be between -{MAX_LORA_WEIGHT:g} "
                                         f"and {MAX_LORA_WEIGHT:g} (got {format_weight(value)}).", "loras")
        names = [e.name.lower() for e in self.embeddings]
        if len(set(names)) != len(names):
            raise InvalidRequest("An embedding is listed twice.", "embeddings")
        for emb in self.embeddings:
            if not 1 <= emb.vectors <= MAX_PROMPT_TOKENS:
                raise InvalidRequest(f"The embedding '{emb.name}' has {emb.vectors} vectors; a prompt holds at most "
                                     f"{MAX_PROMPT_TOKENS}.", "embeddings")

    def _validate_tokens(self, tokenizer: Any) -> list[str]:

        parsed = tokenize_request(tokenizer, self)
        warnings = []
        if parsed.truncated:
            warnings.append(FieldNote(
                f"{{field}}: {parsed.total_word_tokens} tokens, of which only the first {MAX_PROMPT_TOKENS} are used, "
                f"so these words are cut: {parsed.cut_words_text()}.", "prompt"))
        if self.excite.enabled:
            last = parsed.last_word_index
            for i in self.excite.token_indices:
                if i == parsed.eot_index:
                    raise InvalidRequest(f"Token index {i} is the end-of-text token; pick word tokens 1..{last}.")
                if i > last:
                    raise InvalidRequest(
                        f"Token index {i} is past the prompt's last word token ({last}); it would be padding."
                    )
        if self.bind.enabled and self.bind.prompt_length != parsed.eot_index:
            raise InvalidRequest(f"The bound words were chosen on a prompt of {self.bind.prompt_length - 1} tokens; "
                                 f"this one has {parsed.eot_index - 1}: choose them again.", "bind")
        if self.boxes.enabled and self.boxes.prompt_length != parsed.eot_index:
            raise InvalidRequest(f"The boxed words were chosen on a prompt of {self.boxes.prompt_length - 1} tokens; "
                                 f"this one has {parsed.eot_index - 1}: choose them again.", "boxes")
        return warnings

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["excite"]["token_indices"] = list(self.excite.token_indices)
        thresholds = self.excite.thresholds
        data["excite"]["thresholds"] = None if thresholds is None else {str(k): v for k, v in thresholds}
        data["excite"]["scale_range"] = list(self.excite.scale_range)
        data["excite"]["attn_res"] = list(self.excite.attn_res) if self.excite.attn_res else None
        data["loras"] = [dataclasses.asdict(ref) for ref in self.loras]
        data["embeddings"] = [dataclasses.asdict(ref) for ref in self.embeddings]
        del data["bind"]
        if self.bind != BindSettings():  # requests without binding keep their old form
            data["bind"] = self.bind.to_dict()
        del data["boxes"]
        if self.boxes != BoxSettings():  # requests without boxes keep their old form
            data["boxes"] = self.boxes.to_dict()
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "GenerationRequest":
        """Rebuild a request saved by to_dict(); unknown keys are ignored, missing ones default.

        `data` comes from files other programs may have written: every value is checked against
        the field's type (and int64 / finite-number bounds) and anything else is InvalidRequest.
        """
        if not isinstance(data, Mapping):
            raise InvalidRequest("Saved settings are malformed: they are not a set of named values.")
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise InvalidRequest(f"Settings were saved by a newer version (schema {version}); please update the app.")
        try:
            ex_data = data.get("excite") or {}
            if not isinstance(ex_data, Mapping):
                raise TypeError("excite is not a set of named values")
            if version < 2:
                # Schema 1 had no "follow the step count": a missing value meant the paper's number.
                ex_data = {"max_iter_to_alter": PAPER_MAX_ITER_TO_ALTER, "thresholds": PAPER_THRESHOLDS, **ex_data}
            excite = ExciteSettings(**typed_fields(ExciteSettings, ex_data, _EXCITE_READERS))
            loras = tuple(_read_ref(LoraRef, item) for item in read_list(data.get("loras")))
            embeddings = tuple(_read_ref(EmbeddingRef, item) for item in read_list(data.get("embeddings")))
            bind, boxes = BindSettings.from_dict(data.get("bind")), BoxSettings.from_dict(data.get("boxes"))
            return cls(excite=excite, loras=loras, embeddings=embeddings, bind=bind, boxes=boxes,
                       **typed_fields(cls, data, {"excite": None, "loras": None, "embeddings": None, "bind": None,
                                                  "boxes": None}))
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise InvalidRequest(f"Saved settings are malformed: {exc}") from exc



def session_request_from_dict(data: Mapping[str, Any]) -> GenerationRequest:
    """The window's remembered setup (settings.last_request), which, unlike an image, holds intent.

    Schema 1 could not say "follow the step count", so the paper's numbers at 50 steps were simply the
    untouched defaults. The automatic schedule gives exactly those numbers at 50 steps, so they become
    automatic (the same run, and later step changes scale them). Other values stay as they were.
    """
    request = GenerationRequest.from_dict(data)
    if data.get("schema_version", SCHEMA_VERSION) < 2 and request.steps == 50:
        ex = request.excite
        if ex.max_iter_to_alter == PAPER_MAX_ITER_TO_ALTER and ex.thresholds == PAPER_THRESHOLDS:
            request = request.with_excite(max_iter_to_alter=None, thresholds=None)
    return request


# -- reading untrusted values (the generic readers are in untrusted_values.py) ------------------

def _read_ref(kind: type, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise TypeError(f"{value!r} is not a set of named values")
    fields = typed_fields(kind, value, {})
    if not fields.get("name", "").strip():
        raise ValueError("a LoRA or embedding has no name")
    return kind(**fields)


_EXCITE_READERS: dict[str, Any] = {
    "token_indices": read_token_indices,
    "thresholds": lambda value: parse_thresholds(value),
    "scale_range": read_pair(read_float),
    "attn_res": read_pair(read_int),
}
