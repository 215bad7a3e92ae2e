"""What a LoRA file is for, read from its header alone: key layout, model family, attention widths.

A LoRA only fits the model family it was trained on; loading one into another family either fails
deep inside PEFT or, worse, silently does nothing. We read the .safetensors header (no tensors) and
name the family from the widths of the layers it changes, which each family description states
(a UNet's cross-attention reads text of `text_width`), then from markers only one family has (a
second text encoder), then from the trainer's metadata. No torch here: the window and
`aae-desktop loras` use it to list a folder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.models.families import FAMILIES, ModelFamily, family_label

# kohya / A1111: lora_unet_<module>.lora_down.weight, lora_te[12]_<module>.lora_up.weight, .alpha;
# diffusers / PEFT: unet.<module>.lora_A.weight, text_encoder[_2].<module>.lora_B.weight (or the
# older .lora.down / .lora_linear_layer.down names).
_KOHYA = re.compile(r"^lora_(unet|te\d?)_")
_PEFT = re.compile(r"(^|\.)(lora_[AB]|lora\.(down|up)|lora_linear_layer\.(down|up))(\.|$)")
_DOWN = re.compile(r"(lora_down|lora_A|lora\.down|lora_linear_layer\.down)\.weight$")
# Cross-attention's key projection reads the text states, so its input width is the model's text width.
_CROSS_KEY = re.compile(r"attn2[._]to_k|attn2[._]processor[._]to_k")
# LyCORIS variants share kohya's key prefixes but not its weights; diffusers applies none of them to SD/SDXL.
_LYCORIS = ((".hada_w1", "LoHa"), (".lokr_w1", "LoKr"))
_SECOND_ENCODER = ("lora_te2_", "text_encoder_2.", "te2.")
_FIRST_ENCODER = ("lora_te_", "lora_te1_", "text_encoder.", "te1.")


@dataclass(frozen=True)
class LoraInfo:
    name: str
    path: Path
    layout: str  # "kohya" (A1111/kohya key names) or "diffusers" (diffusers/PEFT key names)
    family: str | None  # a key of FAMILIES (SD 2.x files say "sd2": they fit 512 and 768 models), None = unknown
    text_width: int | None  # the width of the text the UNet part reads; None = no UNet part
    second_encoder: bool  # changes a second text encoder (SDXL)
    changes_text_encoder: bool

    @property
    def family_text(self) -> str:
        return family_group_label(self.family) if self.family else "unknown family"


def family_group_label(key: str | None) -> str:
    """SD 2.x 512 and 768 px models share their LoRAs, so a LoRA's family is named without the size."""
    if key in ("sd2", "sd2v"):
        return "SD 2.x"
    return family_label(key)


def inspect_lora(path: str | Path) -> LoraInfo:
    """Read a LoRA file's header; AddonError (one sentence) if it is unreadable or not a LoRA."""
    from aae_desktop.engine.addons.addon_files import read_safetensors_header

    path = Path(path)
    name = path.stem
    if path.suffix.lower() != ".safetensors":
        raise AddonError(f"The LoRA '{name}' is a {path.suffix or 'extensionless'} file; LoRAs are read from "
                         ".safetensors files only (they cannot run code when opened).", "loras")
    try:
        shapes, metadata = read_safetensors_header(path)
    except ValueError as exc:
        raise AddonError(f"The LoRA file {path.name} cannot be read (damaged or incomplete download?).",
                         "loras") from exc
    except OSError as exc:
        raise AddonError(f"The LoRA file {path.name} cannot be opened: {exc.strerror or exc}.", "loras") from exc
    return describe_lora(name, path, shapes, metadata)


def describe_lora(name: str, path: Path, shapes: Mapping[str, tuple[int, ...]],
                  metadata: Mapping[str, str]) -> LoraInfo:
    keys = list(shapes)
    for marker, kind in _LYCORIS:
        if any(marker in k for k in keys):
            raise AddonError(f"The LoRA '{name}' is a LyCORIS {kind} file: only LoRA (and LoCon) files can be applied "
                             "to SD and SDXL models here.", "loras")
    kohya = sum(1 for k in keys if _KOHYA.match(k))
    peft = sum(1 for k in keys if _PEFT.search(k))
    if not keys or not (kohya or peft):
        raise AddonError(f"{path.name} is not a LoRA: it holds none of the lora_down/lora_up (or lora_A/lora_B) "
                         "weights a LoRA file has.", "loras")
    layout = "kohya" if kohya >= peft else "diffusers"
    text_width = next((shapes[k][-1] for k in keys if _CROSS_KEY.search(k) and _DOWN.search(k)
                       and len(shapes[k]) >= 2), None)
    second = any(k.startswith(_SECOND_ENCODER) for k in keys)
    changes_te = second or any(k.startswith(_FIRST_ENCODER) for k in keys)
    family = _family(text_width, second, metadata)
    return LoraInfo(name, path, layout, family, text_width, second, changes_te)


def _family(text_width: int | None, second_encoder: bool, metadata: Mapping[str, str]) -> str | None:
    by_width = [f.key for f in FAMILIES.values() if f.text_width == text_width and f.key != "sd2v"]
    if by_width:
        return by_width[0]
    if second_encoder:
        return next(f.key for f in FAMILIES.values() if len(f.text_encoders) == 2)
    return _family_from_metadata(metadata)


def _family_from_metadata(metadata: Mapping[str, str]) -> str | None:
    """kohya's `ss_base_model_version` / `ss_v2` and the model-spec `modelspec.architecture`."""
    base = str(metadata.get("ss_base_model_version", "")).lower()
    arch = str(metadata.get("modelspec.architecture", "")).lower()
    if base.startswith("sdxl") or arch.startswith("stable-diffusion-xl"):
        return "sdxl"
    if base.startswith("sd_v2") or str(metadata.get("ss_v2", "")).lower() == "true" or arch.startswith(
            "stable-diffusion-v2"):
        return "sd2"
    if base.startswith("sd_v1") or arch.startswith("stable-diffusion-v1"):
        return "sd1"
    return None


def check_fits(info: LoraInfo, family: ModelFamily, unet_text_width: int, text_encoders: int) -> None:
    """AddonError naming both families when the LoRA was made for another kind of model.

    `unet_text_width` and `text_encoders` are the loaded model's own (tiny test models have their own
    widths; a real model's agree with its family description).
    """
    if info.family is not None and family_group_label(info.family) != family_group_label(family.key):
        raise AddonError(f"The LoRA '{info.name}' is for {family_group_label(info.family)} models, but the loaded "
                         f"model is {family_group_label(family.key)}: choose an {family_group_label(family.key)} "
                         "LoRA or switch models.", "loras")
    if info.text_width is not None and info.text_width != unet_text_width:
        raise AddonError(f"The LoRA '{info.name}' is for a model whose UNet reads {info.text_width}-wide text, but "
                         f"the loaded {family_group_label(family.key)} model's reads {unet_text_width}-wide text: "
                         "it was made for another kind of model.", "loras")
    if info.second_encoder and text_encoders < 2:
        raise AddonError(f"The LoRA '{info.name}' changes a second text encoder, which only SDXL models have; the "
                         f"loaded model is {family_group_label(family.key)}.", "loras")


def summary(info: LoraInfo) -> dict[str, Any]:
    """For `aae-desktop loras --json` and the window's tooltips."""
    return {"name": info.name, "path": str(info.path), "family": info.family, "layout": info.layout,
            "text_encoder": info.changes_text_encoder}
