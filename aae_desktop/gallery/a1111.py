"""AUTOMATIC1111's `parameters` text: writing it for our images and reading it from anyone's.

Format (what A1111 writes and CivitAI / sd-parsers read): the prompt line(s), an optional
`Negative prompt: ...` line, then one `Key: value, Key: value` line. Values holding `,`, `:` or a
newline are JSON-quoted, as A1111 does, so the last line splits unambiguously.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from aae_desktop.engine.request import (
    MAX_PROMPT_TOKENS,
    SEED_LIMIT,
    EmbeddingRef,
    ExciteSettings,
    GenerationRequest,
    LoraRef,
    format_thresholds,
    parse_thresholds,
)
from aae_desktop.engine.run.sampler_catalogue import (
    A1111_NAMES,
    A1111_NAMES_BY_CLASS,
    ETA_DEFAULTS,
    SCHEDULER_LABELS,
    sampler_class,
)

from aae_desktop.engine.addons.addon_files import short_hash
from aae_desktop.engine.objectives.bind_settings import DEFAULT_BIND_SCALE, BindSettings
from aae_desktop.gallery.box_words import box_fields, boxes_from_params

NEGATIVE_PREFIX = "Negative prompt:"

# One `Key: value` pair; a value is either JSON-quoted or runs to the next comma.
_PARAM_RE = re.compile(r'\s*(\w[\w \-/+]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def quote(value: Any) -> str:
    text = str(value)
    if any(ch in text for ch in ",:\n"):
        return json.dumps(text, ensure_ascii=False)
    return text


def _number(value: float) -> str:
    return f"{value:g}"


def format_parameters(
    request: GenerationRequest,
    model_name: str | None = None,
    model_hash: str | None = None,
    words: list[str] | None = None,
    version: str | None = None,
    scheduler_class: str | None = None,
    bind_words: str | None = None,
    box_words: str | None = None,
) -> str:
    """The A1111 `parameters` text for one image of `request` (its own seed).

    `words` are the excited words as the artist clicked them (shown by CivitAI and friends); the
    token indices are what restores them exactly. `bind_words` are the bound pairs as words
    ("red>cat, black+white>dog", engine.binding_words.bind_text), written while binding is active;
    `box_words` the boxes ("cat:0,0.3,0.5,1; frog:0.5,0.3,1,1", gallery.box_words.box_text), likewise.
    """
    request = request.resolved()  # the schedule the image ran with, as numbers
    sampler, schedule = A1111_NAMES.get(request.scheduler, (SCHEDULER_LABELS.get(request.scheduler, request.scheduler), None))
    if request.scheduler == "default" and scheduler_class in A1111_NAMES_BY_CLASS:
        sampler, schedule = A1111_NAMES_BY_CLASS[scheduler_class]
    fields: list[tuple[str, Any]] = [
        ("Steps", request.steps),
        ("Sampler", sampler),
    ]
    if schedule:
        fields.append(("Schedule type", schedule))
    fields += [
        ("CFG scale", _number(request.guidance_scale)),
        ("Seed", request.seed),
        ("Size", f"{request.width}x{request.height}"),
    ]
    if model_hash:
        fields.append(("Model hash", model_hash))
    if model_name:
        fields.append(("Model", model_name))
    fields += _sampler_options(request, scheduler_class)
    # A1111's own keys and form ("name: 12 hex digits, ..."), so model sites link the files.
    if request.loras:
        fields.append(("Lora hashes", ", ".join(f"{r.name}: {short_hash(r.sha256)}" for r in request.loras)))
    if request.embeddings:
        fields.append(("TI hashes", ", ".join(f"{e.name}: {short_hash(e.sha256)}" for e in request.embeddings)))
    ex = request.excite
    if ex.enabled:
        if words:
            fields.append(("AAE tokens", ",".join(words)))
        fields += [
            ("AAE indices", ",".join(str(i) for i in ex.token_indices)),
            ("AAE max iter", ex.max_iter_to_alter),
            ("AAE thresholds", format_thresholds(ex.thresholds)),
            ("AAE scale", _number(ex.scale_factor)),
        ]
    else:
        fields.append(("AAE", "off"))
    fields += _bind_fields(request, bind_words)
    fields += box_fields(request.boxes, box_words)
    if version:
        fields.append(("Version", f"aae-desktop {version}"))
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"{NEGATIVE_PREFIX} {request.negative_prompt}")
    lines.append(", ".join(f"{key}: {quote(value)}" for key, value in fields))
    return "\n".join(lines)


def _bind_fields(request: GenerationRequest, bind_words: str | None) -> list[tuple[str, Any]]:
    """`AAE bind` (A1111 style, words), with its scale and steps when not the defaults."""
    bind = request.bind
    if not bind.active or not bind_words:
        return []
    fields: list[tuple[str, Any]] = [("AAE bind", bind_words)]
    if bind.scale != DEFAULT_BIND_SCALE:
        fields.append(("AAE bind scale", _number(bind.scale)))
    if bind.steps is not None:
        fields.append(("AAE bind steps", bind.steps))
    return fields


def _sampler_options(request: GenerationRequest, scheduler_class: str | None) -> list[tuple[str, Any]]:
    """Clip skip and eta, written only when not the default, as A1111 does. A1111 calls DDIM's eta
    "Eta DDIM" and the ancestral samplers' "Eta" (their defaults differ: 0 and 1)."""
    fields: list[tuple[str, Any]] = []
    if request.clip_skip != 1:
        fields.append(("Clip skip", request.clip_skip))
    used = sampler_class(request.scheduler, scheduler_class or "")
    default = ETA_DEFAULTS.get(used)
    if request.eta is not None and default is not None and request.eta != default:
        fields.append(("Eta DDIM" if used == "DDIMScheduler" else "Eta", _number(request.eta)))
    return fields


def parse_parameters(text: str) -> dict[str, Any]:
    """Split A1111 text into {"prompt", "negative_prompt", "params": {key: value}} (values unquoted)."""
    lines = text.strip().split("\n")
    params: dict[str, str] = {}
    last = lines[-1] if lines else ""
    found = _PARAM_RE.findall(last)
    if len(found) >= 3:
        lines = lines[:-1]
        for key, value in found:
            value = value.strip()
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    value = value[1:-1]
            params[key.strip()] = value
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if line.startswith(NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(NEGATIVE_PREFIX):].strip()
        (negative if in_negative else prompt).append(line)
    return {"prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip(), "params": params}


def _scheduler_from(params: dict[str, str]) -> str:
    sampler = params.get("Sampler", "").strip()
    schedule = params.get("Schedule type", "").strip().lower()
    if sampler.endswith(" Karras"):  # older A1111 writes the schedule into the sampler name
        sampler, schedule = sampler[: -len(" Karras")], "karras"
    for key, (name, sched) in A1111_NAMES.items():
        if sampler.lower() == name.lower() and (sched or "").lower() == (schedule if sched else ""):
            return key
    for key, (name, _sched) in A1111_NAMES.items():
        if sampler.lower() == name.lower():
            return key
    return "default"


def seed_in_parameters(text: str) -> int | None:
    """The seed A1111 text holds, or None when it holds none a request can (missing, not a whole
    number, outside 0..2^63-1). request_from_parameters leaves such a seed at the default, 0; a
    restore must then draw a new one rather than pass seed 0 off as the image's own."""
    return _whole(0, SEED_LIMIT)(parse_parameters(text)["params"].get("Seed"))


def request_from_parameters(text: str, model: str = "", tokenizer: Any | None = None) -> GenerationRequest:
    """Rebuild a request from A1111 text. Unknown or unreadable fields keep our defaults.

    Images from other tools carry no Attend-and-Excite settings, so they come back with A&E off
    (that is how they were made); ours carry the token indices (or, failing that, the words, which
    `tokenizer` turns back into indices).
    Raises ValueError when the text has no prompt.
    """
    parsed = parse_parameters(text)
    if not parsed["prompt"]:
        raise ValueError("The image's parameters hold no prompt.")
    params = parsed["params"]
    kwargs: dict[str, Any] = {"prompt": parsed["prompt"], "negative_prompt": parsed["negative_prompt"]}
    # Text from any tool: a value out of range (a 23-digit seed, "inf") is left at our default.
    for key, field_name, read in (("Steps", "steps", _whole(1, 10_000)), ("CFG scale", "guidance_scale", _finite),
                                  ("Seed", "seed", _whole(0, SEED_LIMIT))):
        value = read(params.get(key))
        if value is not None:
            kwargs[field_name] = value
    size = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", params.get("Size", ""))
    if size:
        width, height = (_whole(1, 2**31)(size.group(i)) for i in (1, 2))
        if width is not None and height is not None:
            kwargs["width"], kwargs["height"] = width, height
    kwargs["scheduler"] = _scheduler_from(params)
    try:
        kwargs["clip_skip"] = int(params["Clip skip"])
    except (KeyError, ValueError):
        pass
    for key in ("Eta DDIM", "Eta"):
        try:
            kwargs["eta"] = float(params[key])
            break
        except (KeyError, ValueError):
            pass
    kwargs["model"] = model or params.get("Model", "")
    kwargs["excite"] = _excite_from(params, parsed["prompt"], tokenizer)
    kwargs["bind"] = _bind_from(params, parsed["prompt"], tokenizer)
    kwargs["boxes"] = boxes_from_params(params, parsed["prompt"], tokenizer)
    kwargs["loras"], kwargs["embeddings"] = _addons_from(params, parsed["prompt"], parsed["negative_prompt"])
    return GenerationRequest(**kwargs)


def _hash_list(value: str | None) -> dict[str, str]:
    """A1111's `Lora hashes` / `TI hashes` value, "name: hash, name: hash", by lower-cased name."""
    found: dict[str, str] = {}
    for part in str(value or "").split(","):
        name, _, digest = part.rpartition(":")
        digest = digest.strip().lower()
        if name.strip() and re.fullmatch(r"[0-9a-f]{8,64}", digest):
            found[name.strip().lower()] = digest
    return found


def _addons_from(params: dict[str, str], prompt: str, negative: str) -> tuple[tuple[LoraRef, ...], tuple[EmbeddingRef, ...]]:
    """The prompt's LoRA tags with the hashes A1111 saved, and the embeddings `TI hashes` names.

    No paths: the restore looks the files up on this computer (engine.addon_refs.localize_addons)."""
    from aae_desktop.engine.prompt_syntax import find_lora_tags

    lora_hashes = _hash_list(params.get("Lora hashes"))
    loras: dict[str, LoraRef] = {}
    for tag in find_lora_tags(prompt) + find_lora_tags(negative):
        if math.isfinite(tag.weight) and math.isfinite(tag.unet) and tag.name.lower() not in loras:
            loras[tag.name.lower()] = LoraRef(tag.name, tag.weight, lora_hashes.get(tag.name.lower(), ""),
                                              unet_weight=tag.unet_weight)
    embeddings = tuple(EmbeddingRef(name, 1, digest) for name, digest in _hash_list(params.get("TI hashes")).items())
    return tuple(loras.values()), embeddings


def _whole(low: int, high: int) -> Any:
    """A reader of whole numbers in [low, high): None for anything else ("20.0" counts as 20)."""
    def read(text: str | None) -> int | None:
        try:
            number = float(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number) or not number.is_integer():
            return None
        try:
            value = int(str(text).strip())  # exact, even past 2^53
        except ValueError:
            value = int(number)  # "20.0", "1e3"
        return value if low <= value < high else None
    return read


def _finite(text: str | None) -> float | None:
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _bind_from(params: dict[str, str], prompt: str, tokenizer: Any | None) -> BindSettings:
    """`AAE bind` words back to token indices, with the same word -> token code as --bind (an image
    whose aae chunk is lost still binds). Without a tokenizer the bundled CLIP one reads the words:
    every SD model splits words alike. Anything unreadable is no binding."""
    text = params.get("AAE bind", "").strip()
    if not text:
        return BindSettings()
    from aae_desktop.engine.objectives.binding_words import groups_for_words, parse_bind_words
    from aae_desktop.engine.errors import InvalidRequest
    from aae_desktop.engine.tokens import load_tokenizer, tokenize_prompt

    try:
        parsed = tokenize_prompt(tokenizer or load_tokenizer(), prompt)
        groups = groups_for_words(parsed, parse_bind_words(text))
    except (InvalidRequest, OSError):
        return BindSettings()
    scale = _finite(params.get("AAE bind scale"))
    return BindSettings(enabled=True, groups=groups, prompt_length=parsed.eot_index,
                        scale=DEFAULT_BIND_SCALE if scale is None or scale < 0 else scale,
                        steps=_whole(0, 10_000)(params.get("AAE bind steps")))


def _excite_from(params: dict[str, str], prompt: str, tokenizer: Any | None) -> ExciteSettings:
    if not any(key.startswith("AAE ") for key in params) or params.get("AAE", "").lower() == "off":
        return ExciteSettings(enabled=False)
    changes: dict[str, Any] = {}
    parts = [_whole(1, MAX_PROMPT_TOKENS + 2)(p) for p in params.get("AAE indices", "").split(",") if p.strip()]
    indices = tuple(parts) if None not in parts else ()
    if not indices and params.get("AAE tokens") and tokenizer is not None:
        from aae_desktop.engine.errors import InvalidRequest
        from aae_desktop.engine.tokens import tokenize_prompt

        try:
            indices = tuple(tokenize_prompt(tokenizer, prompt).indices_for_words(params["AAE tokens"].split(",")))
        except InvalidRequest:
            indices = ()
    changes["token_indices"] = indices
    for key, field_name, read in (("AAE max iter", "max_iter_to_alter", _whole(0, 10_000)),
                                  ("AAE scale", "scale_factor", _finite)):
        value = read(params.get(key))
        if value is not None:
            changes[field_name] = value
    try:
        if "AAE thresholds" in params:
            changes["thresholds"] = parse_thresholds(params["AAE thresholds"])
    except Exception:  # InvalidRequest or ValueError: keep the paper's schedule
        pass
    return ExciteSettings(**changes)
