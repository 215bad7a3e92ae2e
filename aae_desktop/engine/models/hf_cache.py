"""Stable Diffusion models already in the local Hugging Face cache: discovery and offline resolution."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import family_from_configs, get_family

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class CachedModel:
    """One model repo in the cache, as the model picker and `aae-desktop models` show it."""

    repo_id: str
    snapshot: Path
    commit: str
    size_on_disk: int
    last_modified: float
    pipeline_class: str
    family: str  # a families.FAMILIES key, from its configs
    missing: tuple[str, ...] = ()  # components whose weights are not in the snapshot
    refusal: str | None = None  # why the app cannot run it (an SDXL refiner, a FLUX model, ...); None = it can

    @property
    def complete(self) -> bool:
        return not self.missing


def hf_cache_dir() -> Path:
    """The hub cache folder, read from the environment now (huggingface_hub only reads it at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def looks_like_repo_id(text: str) -> bool:
    """'owner/name' that is not a path on disk."""
    return bool(_REPO_ID.match(text)) and not Path(text).expanduser().exists()


def list_cached_models(cache_dir: str | Path | None = None, include_unsupported: bool = False) -> list[CachedModel]:
    """Every supported pipeline (families.FAMILIES) in the cache, newest first (never touches the network).

    `include_unsupported` adds the other diffusers pipelines found there (refiners, inpainting, SD3, FLUX,
    ...) with `refusal` saying why they cannot be used, so a list can explain their absence.
    """
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    from aae_desktop.engine.models.unsupported import folder_refusal

    folder = Path(cache_dir) if cache_dir else hf_cache_dir()
    try:
        info = scan_cache_dir(folder)
    except CacheNotFound:
        return []
    models = []
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revision = _preferred_revision(repo.revisions)
        snapshot = Path(revision.snapshot_path)
        pipeline_class = _pipeline_class(snapshot)
        if not pipeline_class:
            continue  # not a diffusers pipeline (a tokenizer, a LoRA repo, a dataset...)
        refusal = folder_refusal(snapshot, name=repo.repo_id)  # the repo's name, not its commit folder's
        if refusal and not include_unsupported:
            continue
        family = folder_family(snapshot)
        models.append(
            CachedModel(
                repo_id=repo.repo_id,
                snapshot=snapshot,
                commit=revision.commit_hash,
                size_on_disk=repo.size_on_disk,
                last_modified=revision.last_modified,
                pipeline_class=pipeline_class,
                family=family,
                missing=() if refusal else tuple(c for c in required_weights(family) if not _has_weights(snapshot / c)),
                refusal=refusal,
            )
        )
    return sorted(models, key=lambda m: m.last_modified, reverse=True)


def resolve_cached_repo(repo_id: str, cache_dir: str | Path | None = None) -> CachedModel:
    """The cached snapshot of `repo_id`, or a ModelLoadError that says what to do."""
    folder = Path(cache_dir) if cache_dir else hf_cache_dir()
    for model in list_cached_models(folder, include_unsupported=True):
        if model.repo_id.lower() == repo_id.lower():
            if model.refusal:
                raise ModelLoadError(model.refusal)
            if model.missing:
                raise ModelLoadError(
                    f"{model.repo_id} is only partly in the Hugging Face cache (no weights for: "
                    f"{', '.join(model.missing)}). Download it again to complete it."
                )
            return model
    raise ModelLoadError(
        f"{repo_id} is not in the Hugging Face cache ({folder}). Download it first, or choose a folder or checkpoint file."
    )


def required_weights(family: str) -> tuple[str, ...]:
    """Components whose weights a snapshot of this family must hold to load."""
    return ("unet", "vae", *get_family(family).text_encoders)


def folder_family(folder: Path) -> str:
    """Family key from a diffusers folder's configs (pipeline class, UNet, scheduler); sd1 when unreadable."""
    return family_from_configs(_pipeline_class(folder), _read_json(folder / "unet" / "config.json"),
                               _read_json(folder / "scheduler" / "scheduler_config.json"))


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _preferred_revision(revisions):
    # The snapshot "main" points at is what from_pretrained would pick; otherwise the newest.
    for revision in revisions:
        if "main" in revision.refs:
            return revision
    return max(revisions, key=lambda r: r.last_modified)


def _pipeline_class(snapshot: Path) -> str:
    from aae_desktop.engine.models.unsupported import pipeline_class_of

    return pipeline_class_of(snapshot)


def _has_weights(component: Path) -> bool:
    if not component.is_dir():
        return False
    return any(p.suffix in (".safetensors", ".bin") and p.exists() for p in component.iterdir())
