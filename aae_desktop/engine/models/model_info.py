"""Facts about a model source for the info dialog and status bar: kind, family, size (no Qt, no model load)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.hf_cache import folder_family, list_cached_models, looks_like_repo_id
from aae_desktop.engine.models.model_library import ModelLibrary
from aae_desktop.engine.models.families import family_label
from aae_desktop.engine.models.single_file import inspect_checkpoint, is_checkpoint_file


def format_size(size: int | None) -> str:
    if not size:
        return "unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


@dataclass(frozen=True)
class SourceFacts:
    kind: str
    family: str  # a families.FAMILIES key, "" when unknown
    family_label: str
    size: str
    reason: str = ""  # how the family was told (single files: from their keys, metadata or name)

    def rows(self) -> dict[str, str]:
        rows = {"Kind": self.kind, "Family": self.family_label, "Size on disk": self.size}
        if self.reason:
            rows["Family from"] = self.reason
        return rows


def describe_source(source: str, library: ModelLibrary | None = None) -> SourceFacts:
    """Kind, family and size of a folder, checkpoint file or cached repo id; problems become text."""
    path = Path(source).expanduser()
    try:
        if path.is_dir():
            family = folder_family(path)
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            return SourceFacts("diffusers folder", family, family_label(family), format_size(size))
        if path.is_file() and is_checkpoint_file(path):
            info = inspect_checkpoint(path, standard_widths=False)
            family = info.family or (library or ModelLibrary()).family_for(path) or ""
            label = family_label(family) if family else "SD 2.x (512 or 768: asked when loading)"
            return SourceFacts(f"single file ({path.suffix.lstrip('.')})", family, label, format_size(info.size),
                               info.family_reason)
        if looks_like_repo_id(source):
            for cached in list_cached_models():
                if cached.repo_id.lower() == source.lower():
                    return SourceFacts("Hugging Face cache", cached.family, family_label(cached.family),
                                       format_size(cached.size_on_disk))
            return SourceFacts("Hugging Face cache", "", "not downloaded", "-")
    except (ModelLoadError, OSError) as exc:
        return SourceFacts("unreadable", "", str(exc), "-")
    return SourceFacts("missing", "", "-", "-")
