"""Single-file checkpoints (SD 1.x, SD 2.x, SDXL): which family is inside, and loading them offline with bundled configs.

diffusers' `from_single_file` would fetch configs from the Hub (and the SD 2 repos it names were
deleted), so the family is read from the weights and the matching folder under resources/configs
is passed explicitly with local_files_only. Key names and layouts are facts from the original
Stable Diffusion (LDM) and SDXL (SGM) checkpoints; files we cannot run are named by unsupported.py.
"""
from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae_desktop.engine.models.checkpoint_file import (  # noqa: F401  (re-exported: callers read files through here)
    CHECKPOINT_SUFFIXES,
    is_checkpoint_file,
    read_tensor_shapes,
)
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import FAMILIES, ModelFamily, family_label, get_family
from aae_desktop.engine.models.unsupported import UNET_PREFIX, checkpoint_refusal, supported_text

VAE_PREFIX = "first_stage_model."


@dataclass(frozen=True)
class TextLayout:
    """Where a checkpoint layout (families.ModelFamily.checkpoint_layout) keeps its text encoders."""

    description: str  # what --inspect and the window say about it
    prefixes: tuple[str, ...]  # one per text encoder, in the family's text_encoders order
    embeddings: tuple[str, ...]  # each encoder's token embedding (its width is the encoder's width)


TEXT_LAYOUTS = {
    "clip": TextLayout("OpenAI CLIP text encoder (SD 1.x layout)", ("cond_stage_model.transformer.",),
                       ("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",)),
    "open_clip": TextLayout("OpenCLIP ViT-H text encoder (SD 2.x layout)", ("cond_stage_model.model.",),
                            ("cond_stage_model.model.token_embedding.weight",)),
    "sdxl": TextLayout("CLIP ViT-L and OpenCLIP ViT-bigG text encoders (SDXL layout)",
                       ("conditioner.embedders.0.transformer.", "conditioner.embedders.1.model."),
                       ("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
                        "conditioner.embedders.1.model.token_embedding.weight")),
}

# Ends FamilyUnknown's message, so a caller that only sees the text (the worker's failure payload) knows to ask.
FAMILY_UNKNOWN_HINT = "Choose the family explicitly."


class FamilyUnknown(ModelLoadError):
    """Families that share every key (SD 2.x 512-epsilon and 768-v): the user has to say which."""

    def __init__(self, path: Path, choices: tuple[str, ...] = ("sd2", "sd2v")):
        self.path = Path(path)
        self.choices = tuple(choices)
        labels = [family_label(c) for c in self.choices]
        super().__init__(
            f"{self.path.name} is an {_series(labels[0])} model, but nothing in its name or metadata says whether it "
            f"is {' or '.join(labels)}. {FAMILY_UNKNOWN_HINT}"
        )


@dataclass(frozen=True)
class CheckpointInfo:
    """What the file says about itself, read without building the model."""

    path: Path
    size: int
    family: str | None  # None: several families share the layout and nothing tells them apart
    family_reason: str
    text_encoder: str  # the checkpoint layout: a TEXT_LAYOUTS key
    cross_attention_dim: int
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def text_encoder_description(self) -> str:
        return TEXT_LAYOUTS[self.text_encoder].description


def single_file_families() -> tuple[str, ...]:
    """Families whose configs ship with the app, so their checkpoint files load offline."""
    from aae_desktop.resources_path import resource

    return tuple(key for key, spec in FAMILIES.items()
                 if (resource("configs", spec.config_folder) / "model_index.json").is_file())


def bundled_config_dir(family: str) -> Path:
    from aae_desktop.resources_path import resource

    known = single_file_families()
    if family not in known:
        raise ModelLoadError(f"Unknown model family '{family}'. Choose one of: {', '.join(known)}.")
    return resource("configs", get_family(family).config_folder)


def family_from_keys(
    shapes: dict[str, tuple[int, ...]],
    name: str = "",
    metadata: dict[str, str] | None = None,
    sidecar_yaml: str | None = None,
    standard_widths: bool = True,
) -> tuple[str | None, str, str, int]:
    """(family or None when undecided between families sharing a layout, reason, layout, cross-attention width).

    The text encoder layout is certain from the keys (OpenAI CLIP, OpenCLIP, or SDXL's pair), confirmed
    by the UNet's cross-attention width. Raises ModelLoadError, naming the file's kind, for anything else.
    """
    label = name or "The file"
    reason = checkpoint_refusal(shapes, label)
    if reason:
        raise ModelLoadError(reason)
    widths = [shape[-1] for key, shape in shapes.items() if key.startswith(UNET_PREFIX) and key.endswith("attn2.to_k.weight")]
    if not widths:
        raise ModelLoadError(f"{label} has UNet weights but no cross-attention layers: not a text-to-image SD model.")
    width = widths[0]
    layout = _text_layout(shapes, label)
    if not any(key.startswith(VAE_PREFIX) for key in shapes):
        raise ModelLoadError(f"{label} has no VAE weights, so it cannot be loaded on its own.")
    text_width = sum(shapes.get(key, (0,))[-1] for key in TEXT_LAYOUTS[layout].embeddings)
    if text_width != width:
        raise ModelLoadError(
            f"{label} is inconsistent: its text encoder is {text_width} wide but the UNet expects "
            f"{width} (a broken merge?)."
        )
    candidates = [spec for spec in FAMILIES.values() if spec.checkpoint_layout == layout]
    problem = nonstandard_width(label, layout, width)
    if standard_widths and problem:
        raise ModelLoadError(f"{problem}; load it with a config folder that fits it (--model-config).")
    family, reason = _choose_by_prediction(candidates, shapes, label, metadata or {}, sidecar_yaml)
    return family, reason or TEXT_LAYOUTS[layout].description, layout, width


def nonstandard_width(label: str, layout: str, width: int) -> str:
    """"" when `width` is the text-encoding width of the standard models of `layout`; otherwise the
    sentence that says so (the bundled configs only fit the standard widths)."""
    if width == next(spec.text_width for spec in FAMILIES.values() if spec.checkpoint_layout == layout):
        return ""
    standard = ", ".join(f"{_series(f.label)} {f.text_width}" for f in _one_per_layout())
    return f"{label}'s text encoding is {width} wide, which no standard {supported_text()} model has ({standard})"


def _text_layout(shapes: dict[str, tuple[int, ...]], label: str) -> str:
    """The layout whose every text encoder is in the file; a partial one is named."""
    found = {key: [any(k.startswith(p) for k in shapes) for p in layout.prefixes] for key, layout in TEXT_LAYOUTS.items()}
    complete = [key for key, present in found.items() if all(present)]
    if complete:
        return max(complete, key=lambda key: len(TEXT_LAYOUTS[key].prefixes))
    partial = [key for key, present in found.items() if any(present)]
    if partial:
        count = len(TEXT_LAYOUTS[partial[0]].prefixes)
        raise ModelLoadError(f"{label} has only some of its {count} text encoders' weights (an incomplete file?).")
    raise ModelLoadError(f"{label} has no text encoder weights, so it cannot be loaded on its own.")


def _one_per_layout() -> list[ModelFamily]:
    return list({spec.checkpoint_layout: spec for spec in reversed(list(FAMILIES.values()))}.values())[::-1]


def _choose_by_prediction(candidates: list[ModelFamily], shapes, label: str, metadata: dict[str, str],
                          sidecar_yaml: str | None) -> tuple[str | None, str]:
    """Among families sharing a layout, the one whose prediction type the file declares (or its name suggests)."""
    prediction, reason = _declared_prediction(shapes, metadata, sidecar_yaml)
    if prediction is not None:
        matches = [spec for spec in candidates if spec.prediction_type == prediction]
        if not matches:
            series = _series(candidates[0].label)
            kinds = " or ".join(dict.fromkeys(_PREDICTION_WORDS[spec.prediction_type] for spec in candidates))
            raise ModelLoadError(f"{label} is an {series} {_PREDICTION_WORDS[prediction]} model ({reason}); "
                                 f"this app runs {series} models of the {kinds} kind only.")
        return matches[0].key, reason
    if len(candidates) == 1:
        return candidates[0].key, ""
    prediction, reason = _named_prediction(label)
    matches = [spec for spec in candidates if spec.prediction_type == prediction]
    if matches:
        return matches[0].key, reason
    return None, " or ".join(spec.label for spec in candidates) + ": the file does not say which"


_PREDICTION_WORDS = {"epsilon": "noise-predicting (epsilon)", "v_prediction": "v-prediction"}
_V_NAME = re.compile(r"768|(?<![a-z0-9])v[-_ ]?pred|(?<![a-z0-9])v(?![a-z0-9])")
_EPS_NAME = re.compile(r"512|base|eps")


def _declared_prediction(shapes, metadata: dict[str, str], sidecar_yaml: str | None) -> tuple[str | None, str]:
    """Prediction type the weights, the metadata or an A1111 .yaml sidecar declare ('epsilon', 'v_prediction')."""
    if "v_pred" in shapes:  # ComfyUI marks v-prediction checkpoints with this key
        return "v_prediction", "the checkpoint carries a v_pred marker"
    prediction = (metadata.get("modelspec.prediction_type") or "").lower()
    if prediction in ("v", "v_prediction", "v-prediction"):
        return "v_prediction", "metadata: modelspec.prediction_type = v"
    if prediction in ("epsilon", "eps"):
        return "epsilon", "metadata: modelspec.prediction_type = epsilon"
    architecture = (metadata.get("modelspec.architecture") or "").lower()
    if "768-v" in architecture:
        return "v_prediction", f"metadata: modelspec.architecture = {architecture}"
    if "512" in architecture:
        return "epsilon", f"metadata: modelspec.architecture = {architecture}"
    v_param = (metadata.get("ss_v_parameterization") or "").lower()
    if v_param in ("true", "false"):
        return ("v_prediction" if v_param == "true" else "epsilon"), f"metadata: ss_v_parameterization = {v_param}"
    if sidecar_yaml is not None:
        if re.search(r"parameterization:\s*[\"']?v[\"']?\s*$", sidecar_yaml, re.MULTILINE):
            return "v_prediction", "the .yaml beside the file sets parameterization: v"
        return "epsilon", "the .yaml beside the file has no v parameterization"
    return None, ""


def _named_prediction(name: str) -> tuple[str | None, str]:
    stem = Path(name).stem.lower()
    if _V_NAME.search(stem):
        return "v_prediction", "the file name suggests 768 / v-prediction"
    if _EPS_NAME.search(stem):
        return "epsilon", "the file name suggests 512 / base (epsilon)"
    return None, ""


def inspect_checkpoint(path: str | Path, standard_widths: bool = True) -> CheckpointInfo:
    """Family and basic facts of a checkpoint file, from its header/keys only."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelLoadError(f"Checkpoint file not found: {path}")
    if not is_checkpoint_file(path):
        raise ModelLoadError(f"{path.name}: expected a .safetensors or .ckpt file.")
    shapes, metadata = read_tensor_shapes(path)
    sidecar = path.with_suffix(".yaml")
    sidecar_text = sidecar.read_text(encoding="utf-8", errors="replace") if sidecar.is_file() else None
    family, reason, layout, width = family_from_keys(shapes, path.name, metadata, sidecar_text, standard_widths)
    return CheckpointInfo(path, path.stat().st_size, family, reason, layout, width, metadata)


def family_tokenizer(family: str, config_dir: Path | None = None, subfolder: str = "tokenizer") -> Any:
    """A CLIP tokenizer of a family: the shared bundled vocabulary with that tokenizer's special tokens.

    `subfolder` is "tokenizer" or, for a second text encoder, "tokenizer_2" (SDXL's pads with "!").
    """
    from transformers import CLIPTokenizer

    from aae_desktop.resources_path import tokenizer_dir

    folder = (config_dir or bundled_config_dir(family)) / subfolder
    if any((folder / name).is_file() for name in ("vocab.json", "tokenizer.json")):  # a complete tokenizer
        return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
    special: dict[str, Any] = {}
    if (folder / "special_tokens_map.json").is_file():
        special = json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8"))
    else:
        pad = get_family(family).pad_tokens[_tokenizer_names(family).index(subfolder)]
        if pad != "<|endoftext|>":
            special = {"pad_token": pad}  # OpenCLIP pads with "!" (id 0)
    return CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True, **special)


def family_tokenizers(family: str, config_dir: Path | None = None) -> dict[str, Any]:
    """{"tokenizer": ..., "tokenizer_2": ...}: one tokenizer per text encoder of the family."""
    return {name: family_tokenizer(family, config_dir, name) for name in _tokenizer_names(family)}


def _tokenizer_names(family: str) -> list[str]:
    # diffusers pairs text_encoder with tokenizer and text_encoder_2 with tokenizer_2.
    return [name.replace("text_encoder", "tokenizer") for name in get_family(family).text_encoders]


def load_single_file(path: str | Path, options: Any = None) -> Any:
    """Build a LoadedModel from a .safetensors/.ckpt file with bundled configs and local files only.

    `options.family` ("auto" or a single_file_families() key) overrides detection; `options.config_dir` replaces
    the bundled config folder (a model with non-standard shapes, or the tiny test model).
    """
    from aae_desktop.engine.models.devices import resolve_device, resolve_dtype
    from aae_desktop.engine.models.loaded_model import LoadOptions, wrap_pipeline

    options = options or LoadOptions()
    info, family, config_dir = plan_single_file(path, options)
    device = resolve_device(options.device)
    dtype = resolve_dtype(device, options.precision)
    pipe = _from_single_file(info.path, get_family(family), config_dir, family_tokenizers(family, config_dir), dtype,
                             device, options)
    _refuse_incomplete(info, pipe)
    model = wrap_pipeline(pipe, str(info.path), options, name=info.path.stem, family=family)
    model.info.update(
        kind="single file", file_size=info.size, family_reason=info.family_reason, config_dir=str(config_dir)
    )
    return model


def plan_single_file(path: str | Path, options: Any) -> tuple[CheckpointInfo, str, Path]:
    """What load_single_file would build (file facts, family, config folder), without reading weights
    from a .safetensors file. Raises ModelLoadError / FamilyUnknown as the load would."""
    override_dir = Path(options.config_dir).expanduser() if options.config_dir else None
    info = inspect_checkpoint(path, standard_widths=override_dir is None)
    family = _choose_family(info, options.family)
    config_dir = override_dir or bundled_config_dir(family)
    if not (config_dir / "model_index.json").is_file():
        raise ModelLoadError(f"Config folder {config_dir} has no model_index.json.")
    return info, family, config_dir


def _choose_family(info: CheckpointInfo, choice: str) -> str:
    if choice in (None, "", "auto"):
        if info.family is not None:
            return info.family
        from aae_desktop.engine.models.model_library import ModelLibrary

        # The answer the user gave for this very file before (the window asks once, the CLI reuses it).
        remembered = ModelLibrary().family_for(info.path)
        if remembered is None:
            raise FamilyUnknown(info.path, tuple(spec.key for spec in FAMILIES.values()
                                                 if spec.checkpoint_layout == info.text_encoder))
        choice = remembered
    known = single_file_families()
    if choice not in known:
        raise ModelLoadError(f"Unknown model family '{choice}'. Choose one of: auto, {', '.join(known)}.")
    if get_family(choice).checkpoint_layout != info.text_encoder:
        actual = " or ".join(dict.fromkeys(
            _series(f.label) for f in FAMILIES.values() if f.checkpoint_layout == info.text_encoder))
        raise ModelLoadError(f"{info.path.name} is an {actual} model, not {family_label(choice)}.")
    return choice


def _series(label: str) -> str:
    # "SD 2.x (512 px, epsilon)" -> "SD 2.x": the layout tells the series, not the variant.
    return label.split(" (")[0]


def _from_single_file(path: Path, spec: ModelFamily, config_dir: Path, tokenizers: dict[str, Any], dtype: Any,
                      device: str, options: Any) -> Any:
    import diffusers

    from aae_desktop.engine.models.loaded_model import load_failure

    pipeline_class = getattr(diffusers, spec.pipeline_class)
    try:
        pipe = pipeline_class.from_single_file(
            str(path), config=str(config_dir), local_files_only=True, dtype=dtype, **tokenizers,
            **_switched_off_extras(pipeline_class),
        )
    except ModelLoadError:
        raise
    except Exception as exc:  # diffusers raises many types here (ValueError, OSError, its own errors)
        raise load_failure(exc, device, f"Could not load {path.name}", options) from exc
    # Weights the file lacked stay on the "meta" device and would fail only at the first render.
    for name in ("unet", "vae", *spec.text_encoders):
        module = getattr(pipe, name)
        if any(p.device.type == "meta" for p in module.parameters()):
            raise ModelLoadError(f"{path.name} is missing weights for the {name.replace('_', ' ')} (incomplete file?).")
    return pipe


# Pipeline extras that would change or censor pixels, or fetch weights: off, for the classes that have them
# (SD 1.x/2.x pipelines have a safety checker, SDXL's an invisible watermark).
_EXTRAS_OFF = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False,
               "add_watermarker": False}


def _switched_off_extras(pipeline_class: type) -> dict[str, Any]:
    accepted = inspect.signature(pipeline_class.__init__).parameters
    return {name: value for name, value in _EXTRAS_OFF.items() if name in accepted}


def _refuse_incomplete(info: CheckpointInfo, pipe: Any) -> None:
    """Refuse a file that lacks weights, whether or not accelerate is installed (checkpoint_keys)."""
    from aae_desktop.engine.models.checkpoint_keys import missing_weights

    shapes, _metadata = read_tensor_shapes(info.path)
    lacking = missing_weights(shapes, pipe, info.text_encoder)
    if lacking:
        name, keys = next(iter(lacking.items()))
        part = {"unet": "UNet", "vae": "VAE"}.get(name, name.replace("_", " "))
        raise ModelLoadError(
            f"{info.path.name} is missing {len(keys)} weight{'s' if len(keys) != 1 else ''} of the {part} "
            f"(e.g. {keys[0]}): the file is incomplete (an interrupted download or a broken merge?)."
        )
