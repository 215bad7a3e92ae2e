"""Loading Stable Diffusion models for the engine: which loader a source needs (folder, HF cache, single file)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aae_desktop.engine.models.devices import DEVICES, PRECISIONS, resolve_device, resolve_dtype  # noqa: F401 (re-exported)
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import get_family
# The handle and its builders live below the loaders (single_file uses them too); re-exported here.
from aae_desktop.engine.models.loaded_model import (  # noqa: F401
    LoadedModel,
    LoadOptions,
    detect_family,
    load_failure,
    wrap_pipeline,
)


def load_diffusers_folder(path: str | Path, options: LoadOptions | None = None, name: str | None = None,
                          source: str | None = None) -> LoadedModel:
    """Load a diffusers-format folder with local files only (never the network), as its family's pipeline."""
    import inspect

    from aae_desktop.engine.models.hf_cache import folder_family
    from aae_desktop.engine.models.unsupported import check_folder_supported

    options = options or LoadOptions()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelLoadError(f"Model folder not found: {folder}")
    check_folder_supported(folder)  # refiners, inpainting, SD3, FLUX, ...: one sentence, before diffusers is even imported
    if not (folder / "model_index.json").is_file():
        raise ModelLoadError(f"{folder} is not a diffusers model folder (model_index.json is missing).")
    import diffusers

    family = folder_family(folder)
    pipeline_class = getattr(diffusers, get_family(family).pipeline_class)
    accepted = inspect.signature(pipeline_class.__init__).parameters
    kwargs: dict[str, Any] = {"local_files_only": True}
    has_checker = (folder / "safety_checker").is_dir()
    if "safety_checker" in accepted and not (options.safety_checker and has_checker):
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if "add_watermarker" in accepted:
        kwargs["add_watermarker"] = False  # the engine decodes itself; an invisible watermark is never applied
    variant = _weights_variant(folder)
    if variant:
        kwargs["variant"] = variant
    device = resolve_device(options.device)
    kwargs["dtype"] = resolve_dtype(device, options.precision)  # load straight into the target dtype
    try:
        pipe = pipeline_class.from_pretrained(str(folder), **kwargs)
    except Exception as exc:  # diffusers/transformers raise many types for bad folders
        raise load_failure(exc, device, f"Could not load the model in {folder}", options) from exc
    model = wrap_pipeline(pipe, source or str(folder), options, name=name, family=family)
    model.info.update(kind="diffusers folder", folder=str(folder), file_size=_folder_size(folder))
    return model


def load_cached_repo(repo_id: str, options: LoadOptions | None = None) -> LoadedModel:
    """Load a model from the local Hugging Face cache by repo id, local files only."""
    from aae_desktop.engine.models.hf_cache import resolve_cached_repo

    cached = resolve_cached_repo(repo_id)
    model = load_diffusers_folder(cached.snapshot, options, name=cached.repo_id, source=cached.repo_id)
    model.info.update(kind="Hugging Face cache", commit=cached.commit, file_size=cached.size_on_disk)
    return model


def load_model(source: str | Path, options: LoadOptions | None = None) -> LoadedModel:
    """Load what the user pointed at: a diffusers folder, a .safetensors/.ckpt file, or a cached repo id."""
    from aae_desktop.engine.models.single_file import load_single_file

    kind, where = _locate(source)
    if kind == "folder":
        return load_diffusers_folder(where, options)
    if kind == "file":
        return load_single_file(where, options)
    return load_cached_repo(where, options)


def check_source(source: str | Path, options: LoadOptions | None = None) -> None:
    """The checks load_model makes before it reads any weights, for a caller that frees the current
    model before loading the next one: a missing or wrong file, an unknown family or an unavailable
    device is reported without that cost. Cheap: paths, a .safetensors header, the cache index."""
    from aae_desktop.engine.models.hf_cache import resolve_cached_repo
    from aae_desktop.engine.models.single_file import plan_single_file
    from aae_desktop.engine.models.unsupported import check_folder_supported

    options = options or LoadOptions()
    resolve_dtype(resolve_device(options.device), options.precision)
    kind, where = _locate(source)
    if kind == "repo":
        kind, where = "folder", resolve_cached_repo(where).snapshot
    if kind == "folder":
        check_folder_supported(where)
        if not (where / "model_index.json").is_file():
            raise ModelLoadError(f"{where} is not a diffusers model folder (model_index.json is missing).")
    if kind == "file" and where.suffix.lower() == ".safetensors":  # a .ckpt can only be read whole
        plan_single_file(where, options)


def _locate(source: str | Path) -> tuple[str, Any]:
    """("folder", Path), ("file", Path) or ("repo", id) for what the user pointed at."""
    from aae_desktop.engine.models.hf_cache import looks_like_repo_id
    from aae_desktop.engine.models.single_file import is_checkpoint_file

    text = str(source).strip()
    if not text:
        raise ModelLoadError("No model was chosen.")
    path = Path(text).expanduser()
    if path.is_dir():
        return "folder", path
    if path.is_file():
        if path.name == "model_index.json":
            return "folder", path.parent
        if is_checkpoint_file(path):
            return "file", path
        raise ModelLoadError(
            f"{path.name} is not a model: choose a diffusers folder or a .safetensors / .ckpt checkpoint."
        )
    if looks_like_repo_id(text):
        return "repo", text
    raise ModelLoadError(
        f"Model not found: {text} (not a folder, not a checkpoint file, not a model in the Hugging Face cache)."
    )


def _weights_variant(folder: Path) -> str | None:
    """'fp16' when a folder (often a cache snapshot) holds only the fp16 weight files."""
    unet = folder / "unet"
    if not unet.is_dir():
        return None
    names = {p.name for p in unet.iterdir()}
    plain = any(n.startswith("diffusion_pytorch_model.") and n.count(".") == 1 for n in names)
    fp16 = any(n.startswith("diffusion_pytorch_model.fp16.") for n in names)
    return "fp16" if fp16 and not plain else None


def _folder_size(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size  # follows cache symlinks to the blobs
        except OSError:
            pass
    return total
