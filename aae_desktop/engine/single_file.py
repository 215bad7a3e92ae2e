"""Single-file SD 1.x / 2.x checkpoints: which family is inside, and loading them offline with bundled configs.

diffusers' `from_single_file` would fetch configs from the Hub (and the SD 2 repos it names were
deleted), so the family is read from the weights and the matching folder under resources/configs
is passed explicitly with local_files_only. Key names and layouts are facts from the original
Stable Diffusion (LDM) checkpoints.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.families import FAMILIES, family_label, get_family

CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."  # SD 1.x: OpenAI CLIP, already in transformers' layout
OPEN_CLIP_PREFIX = "cond_stage_model.model."  # SD 2.x: OpenCLIP's own layout
# The text encoder width each family's bundled config expects; anything else needs a config override.
TEXT_WIDTH = {"clip": 768, "open_clip": 1024}


# Ends FamilyUnknown's message, so a caller that only sees the text (the worker's failure payload) knows to ask.
FAMILY_UNKNOWN_HINT = "Choose the family explicitly."


class FamilyUnknown(ModelLoadError):
    """SD 2.x 512 (epsilon) and 768 (v-prediction) share every key: the user has to say which."""

    choices = ("sd2", "sd2v")

    def __init__(self, path: Path):
        self.path = Path(path)
        super().__init__(
            f"{self.path.name} is an SD 2.x model, but nothing in its name or metadata says whether it is "
            f"the 512 px (epsilon) or the 768 px (v-prediction) kind. {FAMILY_UNKNOWN_HINT}"
        )


@dataclass(frozen=True)
class CheckpointInfo:
    """What the file says about itself, read without building the model."""

    path: Path
    size: int
    family: str | None  # None: SD 2.x, 512 vs 768 unknown
    family_reason: str
    text_encoder: str  # "clip" or "open_clip"
    cross_attention_dim: int
    metadata: dict[str, str] = field(default_factory=dict)


def is_checkpoint_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


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


def read_tensor_shapes(path: str | Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """{key: shape} and the safetensors metadata; .ckpt files are unpickled with weights_only=True."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return _safetensors_shapes(path)
    state = _load_ckpt(path)
    shapes = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}
    return shapes, {}


def _safetensors_shapes(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    from safetensors import safe_open

    try:
        # Reads the JSON header only: cheap even for a 7 GB file.
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own SafetensorError, or OSError/ValueError
        raise ModelLoadError(
            f"{path.name} is not a readable .safetensors file (corrupt or incomplete download?): {_first_line(exc)}"
        ) from exc
    return shapes, metadata


def _load_ckpt(path: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # old (non-zip) pickles cannot be memory-mapped
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"{path.name} contains more than plain weights (Python objects that could run code), so it was not "
            "opened. Use a .safetensors version of this model."
        ) from exc
    except (OSError, EOFError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable .ckpt file (corrupt?): {_first_line(exc)}") from exc
    while isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # Lightning checkpoints nest the weights
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path.name} does not hold a dictionary of weights.")
    return state


def family_from_keys(
    shapes: dict[str, tuple[int, ...]],
    name: str = "",
    metadata: dict[str, str] | None = None,
    sidecar_yaml: str | None = None,
    standard_widths: bool = True,
) -> tuple[str | None, str, str, int]:
    """(family or None when SD 2.x 512/768 is undecided, reason, text encoder layout, cross-attention width).

    SD 1.x vs 2.x is certain from the keys: OpenAI CLIP vs OpenCLIP text encoder layout, confirmed by
    the UNet's cross-attention width. Raises ModelLoadError for anything that is not SD 1.x/2.x.
    """
    _reject_non_sd(shapes, name)
    widths = [shape[-1] for key, shape in shapes.items() if key.startswith(UNET_PREFIX) and key.endswith("attn2.to_k.weight")]
    if not widths:
        raise ModelLoadError(f"{name or 'The file'} has UNet weights but no cross-attention layers: not a text-to-image SD model.")
    width = widths[0]
    if any(key.startswith(CLIP_PREFIX) for key in shapes):
        layout, embed_key = "clip", CLIP_PREFIX + "text_model.embeddings.token_embedding.weight"
    elif any(key.startswith(OPEN_CLIP_PREFIX) for key in shapes):
        layout, embed_key = "open_clip", OPEN_CLIP_PREFIX + "token_embedding.weight"
    else:
        raise ModelLoadError(f"{name or 'The file'} has no text encoder weights, so it cannot be loaded on its own.")
    if not any(key.startswith(VAE_PREFIX) for key in shapes):
        raise ModelLoadError(f"{name or 'The file'} has no VAE weights, so it cannot be loaded on its own.")
    text_width = shapes.get(embed_key, (0, width))[-1]
    if text_width != width:
        raise ModelLoadError(
            f"{name or 'The file'} is inconsistent: its text encoder is {text_width} wide but the UNet expects "
            f"{width} (a broken merge?)."
        )
    if standard_widths and width != TEXT_WIDTH[layout]:
        raise ModelLoadError(
            f"{name or 'The file'} has a {width}-wide text encoder; SD 1.x uses 768 and SD 2.x 1024. "
            "It is not a standard Stable Diffusion 1.x/2.x model."
        )
    if layout == "clip":
        return "sd1", "OpenAI CLIP text encoder (SD 1.x layout)", layout, width
    family, reason = _sd2_prediction(shapes, name, metadata or {}, sidecar_yaml)
    return family, reason, layout, width


def _reject_non_sd(shapes: dict[str, tuple[int, ...]], name: str) -> None:
    label = name or "The file"
    if any(key.startswith("conditioner.embedders.") for key in shapes):
        raise ModelLoadError(f"{label} is an SDXL model; this app runs Stable Diffusion 1.x and 2.x only.")
    if not any(key.startswith(UNET_PREFIX) for key in shapes):
        if any("lora_" in key or ".lora" in key for key in shapes):
            raise ModelLoadError(f"{label} is a LoRA (an add-on), not a full Stable Diffusion model.")
        if "encoder.conv_in.weight" in shapes and "decoder.conv_out.weight" in shapes:
            raise ModelLoadError(f"{label} is a standalone VAE, not a full Stable Diffusion model.")
        raise ModelLoadError(f"{label} is not a Stable Diffusion checkpoint (it has no UNet weights).")
    conv_in = shapes.get(UNET_PREFIX + "input_blocks.0.0.weight")
    if conv_in is not None and len(conv_in) == 4 and conv_in[1] != 4:
        kind = {9: "an inpainting", 8: "an instruct-pix2pix", 7: "an upscaler"}.get(conv_in[1], "a non-text-to-image")
        raise ModelLoadError(f"{label} is {kind} model; only text-to-image SD 1.x/2.x models are supported.")


_V_NAME = re.compile(r"768|(?<![a-z0-9])v[-_ ]?pred|(?<![a-z0-9])v(?![a-z0-9])")
_EPS_NAME = re.compile(r"512|base|eps")


def _sd2_prediction(shapes, name: str, metadata: dict[str, str], sidecar_yaml: str | None) -> tuple[str | None, str]:
    """SD 2.x 512-epsilon vs 768-v: ask the weights, then metadata, the A1111 .yaml sidecar, then the name."""
    if "v_pred" in shapes:  # ComfyUI marks v-prediction checkpoints with this key
        return "sd2v", "the checkpoint carries a v_pred marker"
    prediction = (metadata.get("modelspec.prediction_type") or "").lower()
    if prediction in ("v", "v_prediction", "v-prediction"):
        return "sd2v", "metadata: modelspec.prediction_type = v"
    if prediction in ("epsilon", "eps"):
        return "sd2", "metadata: modelspec.prediction_type = epsilon"
    architecture = (metadata.get("modelspec.architecture") or "").lower()
    if "768-v" in architecture:
        return "sd2v", f"metadata: modelspec.architecture = {architecture}"
    if "512" in architecture:
        return "sd2", f"metadata: modelspec.architecture = {architecture}"
    v_param = (metadata.get("ss_v_parameterization") or "").lower()
    if v_param in ("true", "false"):
        return ("sd2v" if v_param == "true" else "sd2"), f"metadata: ss_v_parameterization = {v_param}"
    if sidecar_yaml is not None:
        if re.search(r"parameterization:\s*[\"']?v[\"']?\s*$", sidecar_yaml, re.MULTILINE):
            return "sd2v", "the .yaml beside the file sets parameterization: v"
        return "sd2", "the .yaml beside the file has no v parameterization"
    stem = Path(name).stem.lower()
    if _V_NAME.search(stem):
        return "sd2v", "the file name suggests 768 / v-prediction"
    if _EPS_NAME.search(stem):
        return "sd2", "the file name suggests 512 / base (epsilon)"
    return None, "SD 2.x: 512 (epsilon) or 768 (v-prediction) cannot be told from the file"


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


def family_tokenizer(family: str, config_dir: Path | None = None) -> Any:
    """The CLIP tokenizer for a family: the shared bundled vocabulary with the family's special tokens."""
    from transformers import CLIPTokenizer

    from aae_desktop.resources_path import tokenizer_dir

    folder = (config_dir or bundled_config_dir(family)) / "tokenizer"
    if any((folder / name).is_file() for name in ("vocab.json", "tokenizer.json")):  # a complete tokenizer
        return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
    special: dict[str, Any] = {}
    if (folder / "special_tokens_map.json").is_file():
        special = json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8"))
    elif get_family(family).pad_tokens[0] != "<|endoftext|>":
        special = {"pad_token": get_family(family).pad_tokens[0]}  # OpenCLIP pads with "!" (id 0)
    return CLIPTokenizer.from_pretrained(str(tokenizer_dir()), local_files_only=True, **special)


def load_single_file(path: str | Path, options: Any = None) -> Any:
    """Build a LoadedModel from a .safetensors/.ckpt file with bundled configs and local files only.

    `options.family` ("auto" or a single_file_families() key) overrides detection; `options.config_dir` replaces
    the bundled config folder (a model with non-standard shapes, or the tiny test model).
    """
    from aae_desktop.engine.models import LoadOptions, resolve_device, resolve_dtype, wrap_pipeline

    options = options or LoadOptions()
    override_dir = Path(options.config_dir).expanduser() if options.config_dir else None
    info = inspect_checkpoint(path, standard_widths=override_dir is None)
    family = _choose_family(info, options.family)
    config_dir = override_dir or bundled_config_dir(family)
    if not (config_dir / "model_index.json").is_file():
        raise ModelLoadError(f"Config folder {config_dir} has no model_index.json.")
    device = resolve_device(options.device)
    dtype = resolve_dtype(device, options.precision)
    pipe = _from_single_file(info.path, config_dir, family_tokenizer(family, config_dir), dtype, device)
    model = wrap_pipeline(pipe, str(info.path), options, name=info.path.stem, family=family)
    model.info.update(
        kind="single file", file_size=info.size, family_reason=info.family_reason, config_dir=str(config_dir)
    )
    return model


def _choose_family(info: CheckpointInfo, choice: str) -> str:
    if choice in (None, "", "auto"):
        if info.family is not None:
            return info.family
        from aae_desktop.engine.model_library import ModelLibrary

        # The answer the user gave for this very file before (the window asks once, the CLI reuses it).
        remembered = ModelLibrary().family_for(info.path)
        if remembered is None:
            raise FamilyUnknown(info.path)
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


def _from_single_file(path: Path, config_dir: Path, tokenizer: Any, dtype: Any, device: str) -> Any:
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.models import load_failure

    try:
        pipe = StableDiffusionPipeline.from_single_file(
            str(path),
            config=str(config_dir),
            local_files_only=True,
            tokenizer=tokenizer,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
            dtype=dtype,
        )
    except ModelLoadError:
        raise
    except Exception as exc:  # diffusers raises many types here (ValueError, OSError, its own errors)
        raise load_failure(exc, device, f"Could not load {path.name}") from exc
    # Weights the file lacked stay on the "meta" device and would fail only at the first render.
    for name in ("unet", "vae", "text_encoder"):
        module = getattr(pipe, name)
        if any(p.device.type == "meta" for p in module.parameters()):
            raise ModelLoadError(f"{path.name} is missing weights for the {name.replace('_', ' ')} (incomplete file?).")
    return pipe


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
