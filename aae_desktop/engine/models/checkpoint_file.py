"""Reading a checkpoint file's tensor names and shapes without building a model (.safetensors header, .ckpt weights only)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aae_desktop.engine.errors import ModelLoadError

CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")


def is_checkpoint_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


def read_tensor_shapes(path: str | Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """{key: shape} and the safetensors metadata; .ckpt files are unpickled with weights_only=True."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return _safetensors_shapes(path)
    state = load_ckpt(path)
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
            f"{path.name} is not a readable .safetensors file (corrupt or incomplete download?): {first_line(exc)}"
        ) from exc
    return shapes, metadata


def load_ckpt(path: Path) -> dict[str, Any]:
    """The weights of a .ckpt, refusing pickles that hold anything but tensors and plain containers."""
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
        raise ModelLoadError(f"{path.name} is not a readable .ckpt file (corrupt?): {first_line(exc)}") from exc
    while isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # Lightning checkpoints nest the weights
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path.name} does not hold a dictionary of weights.")
    return state


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
