"""Textual-inversion embeddings: the vectors in a file, per text encoder, in every common layout.

Layouts: A1111 `.pt` (`string_to_param: {"*": [n, width]}`), A1111 `.safetensors` (`emb_params`),
diffusers `.bin` (`{token: vector}`), and SDXL pairs (`clip_l` for the first, OpenAI CLIP text
encoder and `clip_g` for the second, OpenCLIP one). `.pt`/`.bin` files are opened with torch's
weights-only loader, so a file that would run code is refused, not executed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from aae_desktop.engine.errors import AddonError
from aae_desktop.engine.models.families import FAMILIES, ModelFamily
from aae_desktop.engine.addons.lora_files import family_group_label

# The text encoder each part of an SDXL embedding belongs to, in the family's encoder order.
SDXL_PARTS = ("clip_l", "clip_g")


@dataclass(frozen=True)
class EmbeddingInfo:
    name: str
    path: Path
    vectors: int  # how many tokens the word becomes
    widths: tuple[int, ...]  # one per text encoder it is for (two for SDXL files)

    @property
    def family(self) -> str | None:
        if len(self.widths) == 2:
            return "sdxl"
        return next((f.key for f in FAMILIES.values() if len(f.text_encoders) == 1
                     and f.text_width == self.widths[0]), None)

    @property
    def family_text(self) -> str:
        return family_group_label(self.family) if self.family else "unknown family"


def read_vectors(path: str | Path) -> tuple[Any, ...]:
    """The embedding's vectors, one [n, width] tensor per text encoder it is for. AddonError if unusable."""
    import torch

    path = Path(path)
    state = _read_state(path)
    if all(part in state for part in SDXL_PARTS):
        tensors = tuple(state[part] for part in SDXL_PARTS)
    elif isinstance(state.get("string_to_param"), Mapping) and state["string_to_param"]:
        tensors = (next(iter(state["string_to_param"].values())),)
    elif "emb_params" in state:
        tensors = (state["emb_params"],)
    else:
        found = [v for v in state.values() if isinstance(v, torch.Tensor)]
        if len(found) != 1:
            raise AddonError(f"{path.name} is not a textual-inversion embedding (no word vectors in a layout "
                             "A1111 or diffusers writes).", "embeddings")
        tensors = (found[0],)
    result = []
    for tensor in tensors:
        if not isinstance(tensor, torch.Tensor) or tensor.dim() not in (1, 2) or tensor.numel() == 0:
            raise AddonError(f"{path.name} is not a textual-inversion embedding (its vectors have the wrong "
                             "shape).", "embeddings")
        result.append(tensor.detach().reshape(-1, tensor.shape[-1]).float())
    if len({t.shape[0] for t in result}) != 1:
        raise AddonError(f"{path.name} is damaged: its two parts have different numbers of vectors.", "embeddings")
    return tuple(result)


def inspect_embedding(path: str | Path) -> EmbeddingInfo:
    """Number of vectors and widths; reads only the header of a .safetensors file."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from aae_desktop.engine.addons.addon_files import read_safetensors_header

        try:
            shapes, _ = read_safetensors_header(path)
        except (ValueError, OSError) as exc:
            raise AddonError(f"The embedding file {path.name} cannot be read (damaged or incomplete download?).",
                             "embeddings") from exc
        if all(part in shapes for part in SDXL_PARTS):
            parts = [shapes[p] for p in SDXL_PARTS]
        elif "emb_params" in shapes:
            parts = [shapes["emb_params"]]
        elif len(shapes) == 1:
            parts = list(shapes.values())
        else:
            raise AddonError(f"{path.name} is not a textual-inversion embedding (no word vectors in a layout "
                             "A1111 or diffusers writes).", "embeddings")
        if any(len(s) not in (1, 2) or not all(s) for s in parts):
            raise AddonError(f"{path.name} is not a textual-inversion embedding (its vectors have the wrong "
                             "shape).", "embeddings")
        rows = {s[0] if len(s) == 2 else 1 for s in parts}
        if len(rows) != 1:
            raise AddonError(f"{path.name} is damaged: its two parts have different numbers of vectors.",
                             "embeddings")
        return EmbeddingInfo(path.stem, path, rows.pop(), tuple(s[-1] for s in parts))
    tensors = read_vectors(path)
    return EmbeddingInfo(path.stem, path, tensors[0].shape[0], tuple(t.shape[-1] for t in tensors))


def check_fits(info: EmbeddingInfo, family: ModelFamily, encoder_widths: tuple[int, ...]) -> None:
    """AddonError naming both families when the embedding was made for another kind of model."""
    if info.widths == encoder_widths:
        return
    theirs = info.family_text
    ours = family_group_label(family.key)
    if info.family is not None and theirs != ours:
        raise AddonError(f"The embedding '{info.name}' is for {theirs} models, but the loaded model is {ours}: "
                         f"take it out of the prompt or switch models.", "embeddings")
    raise AddonError(f"The embedding '{info.name}' has {'/'.join(map(str, info.widths))}-wide vectors, but the "
                     f"loaded {ours} model's text encoder{'s' if len(encoder_widths) > 1 else ''} "
                     f"read{'' if len(encoder_widths) > 1 else 's'} {'/'.join(map(str, encoder_widths))}-wide "
                     "ones: it was made for another kind of model.", "embeddings")


def _read_state(path: Path) -> Mapping[str, Any]:
    import pickle

    import torch

    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's safe loader names the Python object it refused ("GLOBAL posix.system"); any other
        # refusal (an "unsupported operand") means bytes that are no pickle at all: a damaged file.
        if "GLOBAL" not in str(exc):
            raise AddonError(f"The embedding file {path.name} cannot be read (damaged or incomplete download?).",
                             "embeddings") from exc
        raise AddonError(f"{path.name} holds more than word vectors (Python objects that could run code), so it "
                         "was not opened; use a .safetensors version of this embedding.", "embeddings") from exc
    except Exception as exc:  # safetensors, zip and pickle readers each raise their own errors for damage
        raise AddonError(f"The embedding file {path.name} cannot be read (damaged or incomplete download?).",
                         "embeddings") from exc
    if not isinstance(state, Mapping):
        if isinstance(state, torch.Tensor):
            return {"emb_params": state}
        raise AddonError(f"{path.name} is not a textual-inversion embedding.", "embeddings")
    return state
