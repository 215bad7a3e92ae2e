"""Models the app cannot run, recognised from their keys or configs and refused in one sentence that names them.

Artists keep many kinds of files beside their checkpoints (LoRAs, embeddings, VAEs, ControlNets,
refiners, SD3/FLUX/video models). Picking one as "the model" must say what it is and what the app
runs, never end in a traceback from deep inside diffusers. Every marker below is a fact about a
published file layout (key names, input channels, pipeline class names); nothing is guessed from
file names.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import FAMILIES, supported_pipeline_classes

UNET_PREFIX = "model.diffusion_model."
UNET_CONV_IN = UNET_PREFIX + "input_blocks.0.0.weight"

Shapes = Mapping[str, tuple[int, ...]]


def supported_text() -> str:
    """'Stable Diffusion 1.x, 2.x and SDXL', from the family descriptions (one series per label)."""
    series = list(dict.fromkeys(spec.label.split(" (")[0].removeprefix("SD ") for spec in FAMILIES.values()))
    listed = ", ".join(series[:-1]) + " and " + series[-1] if len(series) > 1 else series[0]
    return "Stable Diffusion " + listed


def refusal(name: str, kind: str) -> str:
    """The one sentence: what the thing is, and what the app runs instead."""
    return f"{name} is {kind}; {_RUNS} {supported_text()} text-to-image models."


def refused_kind(sentence: str, name: str) -> str:
    """The 'what it is' part of a refusal() sentence, short enough for a list column ('an SDXL refiner')."""
    kind = sentence.removeprefix(f"{name} is ").split(f"; {_RUNS} ")[0]
    return kind.split(", ")[0].split(" (")[0]


_RUNS = "this app runs complete"


# -- single files ---------------------------------------------------------------------------------
_LORA = re.compile(r"lora_(unet|te\d?)_|[._]lora_(down|up|mid|A|B)[._]|\.lora\.(down|up)\.|hada_w\d_|lokr_w\d")
# Keys of textual-inversion embeddings: A1111 (.safetensors/.pt), SDXL pairs, and the older .pt layout.
_EMBEDDING_KEYS = {"emb_params", "clip_l", "clip_g", "name", "step", "sd_checkpoint", "sd_checkpoint_name"}
_EMBEDDING_PREFIXES = ("string_to_param.", "string_to_token.")
_TEXT_WIDTHS = {768, 1024, 1280}

# (what the key contains, what the file is). Checked in order, before anything about Stable Diffusion.
_MARKERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("control_model.", "controlnet_cond_embedding.", "controlnet_down_blocks.", "input_hint_block."),
     "a ControlNet, which steers a model with a guide image and is not a model on its own"),
    (("adapter.body.",), "a T2I-Adapter, which steers a model with a guide image and is not a model on its own"),
    (("image_proj.", "ip_adapter."), "an IP-Adapter, an add-on that prompts a model with an image"),
    (("motion_modules.",), "an AnimateDiff motion module (a video add-on)"),
    (("time_stack.", "time_mixer."), "a video model (Stable Video Diffusion)"),
    (("joint_blocks.",), "a Stable Diffusion 3 model (a different architecture, MMDiT)"),
    (("double_blocks.", "single_blocks.", "single_transformer_blocks."), "a FLUX model (a different architecture)"),
    (("edm_mean",), "a Playground v2.5 model (SDXL-shaped, but trained with a different noise schedule)"),
    (("clip_txt_mapper.", "channelwise."), "a Stable Cascade model (a different architecture)"),
)

_CHANNEL_KINDS = {
    9: "inpainting model (it fills in a masked part of a picture)",
    8: "instruct-pix2pix model (it edits a picture)",
    7: "upscaler",
    5: "depth-to-image model",
}


def checkpoint_refusal(shapes: Shapes, name: str) -> str | None:
    """The refusal sentence for a checkpoint we cannot run, or None when it may be an SD 1.x/2.x/SDXL model."""
    keys = list(shapes)
    has_unet = UNET_CONV_IN in shapes
    if not has_unet and any(_LORA.search(key) for key in keys):
        return refusal(name, "a LoRA, an add-on that changes a model rather than a model itself")
    if not has_unet and _is_embedding(shapes):
        return refusal(name, "a textual-inversion embedding (a learned word for prompts), not a model")
    for markers, kind in _MARKERS:
        if any(marker in key for key in keys for marker in markers):
            return refusal(name, kind)
    if not any(key.startswith(UNET_PREFIX) for key in keys):
        return refusal(name, _partial_kind(shapes))
    conv_in = shapes.get(UNET_CONV_IN)
    if conv_in is not None and len(conv_in) == 4 and conv_in[1] != 4:
        series = _series(keys)
        kind = _CHANNEL_KINDS.get(conv_in[1], f"model with {conv_in[1]} input channels, not a text-to-image model")
        return refusal(name, f"an {series + ' ' if series else ''}{kind}")
    if any(key.startswith("conditioner.embedders.0.model.") for key in keys):
        # SDXL base has CLIP ViT-L first and OpenCLIP bigG second; the refiner has only bigG, first.
        return refusal(name, "an SDXL refiner, which only polishes images SDXL base made and cannot start from a prompt")
    return None


def _is_embedding(shapes: Shapes) -> bool:
    keys = set(shapes)
    if keys and all(k in _EMBEDDING_KEYS or k.startswith(_EMBEDDING_PREFIXES) for k in keys):
        return True
    # diffusers' learned_embeds: one tensor per learned word, named after the word.
    return 0 < len(keys) <= 2 and all(len(s) == 2 and s[-1] in _TEXT_WIDTHS for s in shapes.values())


def _partial_kind(shapes: Shapes) -> str:
    """What a file without the UNet of an original-layout checkpoint is."""
    keys = list(shapes)
    if any(k.endswith("encoder.conv_in.weight") for k in keys) and any(k.endswith("decoder.conv_out.weight") for k in keys):
        return "a standalone VAE (the part that turns latents into pixels; every model file has its own)"
    if "conv_in.weight" in shapes and any(k.startswith("down_blocks.") for k in keys):
        return "the UNet of a diffusers model folder on its own (open the folder that holds model_index.json instead)"
    if any(k.startswith(("text_model.", "cond_stage_model.", "conditioner.")) for k in keys):
        return "a text encoder on its own, not a whole model"
    return "not a Stable Diffusion checkpoint (it has no UNet weights)"


def _series(keys: list[str]) -> str:
    if any(k.startswith("conditioner.embedders.") for k in keys):
        return "SDXL"
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        return "SD 2.x"
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return "SD 1.x"
    return ""


# -- diffusers folders ----------------------------------------------------------------------------------
_REFINER = "an SDXL refiner, which only polishes images SDXL base made and cannot start from a prompt"
# Pipeline classes (model_index.json "_class_name") -> what such a folder is.
_PIPELINES: dict[str, str] = {
    "StableDiffusionXLImg2ImgPipeline": _REFINER,
    "StableDiffusionXLInpaintPipeline": "an SDXL inpainting model",
    "StableDiffusionInpaintPipeline": "an inpainting model",
    "StableDiffusionImg2ImgPipeline": "an image-to-image model",
    "StableDiffusionInstructPix2PixPipeline": "an instruct-pix2pix model (it edits a picture)",
    "StableDiffusionXLInstructPix2PixPipeline": "an instruct-pix2pix model (it edits a picture)",
    "StableDiffusionUpscalePipeline": "an upscaler",
    "StableDiffusionLatentUpscalePipeline": "an upscaler",
    "StableDiffusionDepth2ImgPipeline": "a depth-to-image model",
    "StableDiffusionImageVariationPipeline": "an image-variation model",
    "StableUnCLIPPipeline": "an image-variation (unCLIP) model",
    "LatentConsistencyModelPipeline": "a latent consistency (LCM) model",
    "StableVideoDiffusionPipeline": "a Stable Video Diffusion video model",
    "AnimateDiffPipeline": "an AnimateDiff video model",
    "I2VGenXLPipeline": "a video model",
}
# Families of classes, for the names not listed above. First match wins.
_PIPELINE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"XLInpaint", "an SDXL inpainting model"),
    (r"Inpaint|Fill", "an inpainting model (it fills in a masked part of a picture)"),
    (r"ControlNet", "a ControlNet pipeline (it needs a guide image)"),
    (r"StableDiffusion3", "a Stable Diffusion 3 model (a different architecture, MMDiT)"),
    (r"Flux", "a FLUX model (a different architecture)"),
    (r"Video|AnimateDiff|^LTX|^Wan|^Mochi", "a video model"),
    (r"Upscale", "an upscaler"),
    (r"StableCascade", "a Stable Cascade model (a different architecture)"),
    (r"PixArt|Sana|AuraFlow|HunyuanDiT|Kolors|Kandinsky|Lumina|CogView", "a model of another architecture"),
    (r"Img2Img", "an image-to-image pipeline"),
)
# Pipelines made of exactly a family's parts: a folder saved under them loads as that family.
_SAME_PARTS = {"StableDiffusionXLImg2ImgPipeline", "StableDiffusionImg2ImgPipeline"}


def folder_refusal(folder: Path, name: str | None = None) -> str | None:
    """The refusal sentence for a diffusers folder we cannot run, or None when its pipeline is one we load.

    `name` is what the sentence calls it (a cache repo id); the folder's name by default.
    """
    folder = Path(folder)
    name = name or folder.name
    index = _read_json(folder / "model_index.json")
    if index is None:
        component = (_read_json(folder / "config.json") or {}).get("_class_name")
        if component:
            return refusal(name, f"a single model component ({component}), not a whole model folder")
        return None  # the loader says model_index.json is missing
    class_name = str(index.get("_class_name", ""))
    if index.get("requires_aesthetics_score") is True:  # SDXL refiner, whatever class it was saved under
        return refusal(name, f"{_REFINER} ({class_name})")
    unet = _read_json(folder / "unet" / "config.json") or {}
    channels = unet.get("in_channels", 4)
    if channels != 4:
        return refusal(name, "an " + _CHANNEL_KINDS.get(channels, f"model with {channels} input channels"))
    if class_name in supported_pipeline_classes():
        return None
    kind = pipeline_kind(class_name)
    if (kind is None or class_name in _SAME_PARTS) and _has_family_components(index):
        return None  # an SDXL base saved as image-to-image, a community pipeline of SD parts
    return refusal(name, f"{kind} ({class_name})" if kind else f"a {class_name or 'non-Stable-Diffusion'} pipeline")


def _has_family_components(index: Mapping[str, Any]) -> bool:
    """Whether the folder holds exactly some family's text encoders (no more, no fewer): the SDXL refiner,
    saved under the same image-to-image class as a base model can be, has only the second one."""
    def present(part: str) -> bool:
        return isinstance(index.get(part), list) and bool(index[part][0])

    all_encoders = {part for spec in FAMILIES.values() for part in spec.text_encoders}
    found = {part for part in all_encoders if present(part)}
    return any(found == set(spec.text_encoders) for spec in FAMILIES.values())


def pipeline_kind(class_name: str) -> str | None:
    """What a pipeline class we do not run is, in words ('a FLUX model', ...); None for a name we do not know."""
    if class_name in _PIPELINES:
        return _PIPELINES[class_name]
    for pattern, kind in _PIPELINE_PATTERNS:
        if re.search(pattern, class_name):
            return kind
    return None


def check_folder_supported(folder: Path) -> None:
    """Raise ModelLoadError with the refusal sentence for a folder we cannot run."""
    message = folder_refusal(folder)
    if message:
        raise ModelLoadError(message)


def pipeline_class_of(folder: Path) -> str:
    """model_index.json's "_class_name", or "" when it cannot be read."""
    return str((_read_json(Path(folder) / "model_index.json") or {}).get("_class_name", ""))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
