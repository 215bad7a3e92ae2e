"""App settings: a typed dataclass saved as JSON in the platformdirs user config dir (no Qt here)."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae_desktop import user_dirs
from aae_desktop.atomic_write import atomic_write_text

SETTINGS_SCHEMA_VERSION = 1

log = logging.getLogger(__name__)


def default_settings_path() -> Path:
    """<user config dir>/aae-desktop/settings.json; AAE_DESKTOP_CONFIG overrides it (tests, portable installs)."""
    return user_dirs.settings_file()


def default_addon_dir(kind: Any) -> Path:
    """<app data>/loras, <app data>/embeddings (engine.addon_kinds.AddonKind.folder): where add-ons are
    looked for until the artist chooses a folder."""
    return user_dirs.data_dir() / kind.folder


@dataclass
class Settings:
    """Everything the app remembers between launches.

    Engineers adding a field: give it a default so older files still load, and keep it JSON-friendly
    (str, int, float, bool, lists, dicts). Bump SETTINGS_SCHEMA_VERSION only when a field changes meaning.
    """

    schema_version: int = SETTINGS_SCHEMA_VERSION
    # -- model ---------------------------------------------------------------------------------
    last_model: str = ""
    device: str = "auto"  # engine.models.DEVICES
    precision: str = "auto"  # engine.models.PRECISIONS
    # -- the last request the artist set up (GenerationRequest.to_dict()); restores every parameter
    last_request: dict[str, Any] = field(default_factory=dict)
    seed_mode: str = "random"  # "random" | "locked" | "increment"
    # -- window --------------------------------------------------------------------------------
    window_geometry: str = ""  # QWidget.saveGeometry() as base64
    window_state: str = ""  # QMainWindow.saveState() as base64
    splitter_sizes: dict[str, list[int]] = field(default_factory=dict)  # splitter objectName -> sizes
    # -- gallery -------------------------------------------------------------------------------
    gallery_dir: str = ""  # "" = <user pictures>/Attend-and-Excite (gallery.paths.default_gallery_dir)
    autosave: bool = True  # save every finished image into the gallery
    # -- LoRAs and embeddings ("" = <app data>/loras and <app data>/embeddings; an A1111 or ComfyUI
    #    `loras` / `embeddings` folder works as it is)
    lora_dir: str = ""
    embeddings_dir: str = ""

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def addon_folders(self) -> Any:
        """engine.addon_refs.AddonFolders for the chosen (or default) LoRA and embeddings folders."""
        from aae_desktop.engine.addons.addon_kinds import KINDS
        from aae_desktop.engine.addons.addon_refs import AddonFolders

        folders = {}
        for kind in KINDS:
            chosen = getattr(self, kind.setting)
            folders[kind.key] = Path(chosen).expanduser() if chosen else default_addon_dir(kind)
        return AddonFolders(**folders)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["schema_version"] = SETTINGS_SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """Keep the fields we know whose type matches the default's; anything else falls back to default."""
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data or f.name == "schema_version":
                continue
            value = data[f.name]
            default = getattr(defaults, f.name)
            if _same_kind(value, default):
                kwargs[f.name] = value
            else:
                log.warning("Ignoring setting %s=%r (expected %s)", f.name, value, type(default).__name__)
        return cls(**kwargs)


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _decode(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """(settings dict, None) or ({}, why it cannot be used); never raises for any bytes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "is not UTF-8 text (a binary file, or saved in another encoding such as UTF-16)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"is not valid JSON ({exc})"
    except RecursionError:
        return {}, "is nested too deeply to be settings"
    if not isinstance(data, dict):
        return {}, "does not hold a JSON object"
    return data, None


class SettingsStore:
    """Loads and saves one Settings file; injected into the window so tests point it at tmp_path."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_settings_path()
        # Set when the file existed but could not be used, so the UI can say why the defaults came back.
        self.load_problem: str | None = None

    def load(self, set_aside: bool = True) -> Settings:
        """The saved settings, or defaults with `load_problem` saying why.

        A file that exists but cannot be used (undecodable bytes, not JSON, another shape, a newer
        version) is renamed to settings.json.unusable-<time> when `set_aside` is on, so the next
        save cannot overwrite what the artist may want back. Readers that never save (the CLI) pass
        False and leave it for the window.
        """
        self.load_problem = None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Settings()
        except OSError as exc:
            self.load_problem = f"Could not read settings {self.path}: {exc}"
            return Settings()
        data, reason = _decode(raw)
        if reason is None:
            version = data.get("schema_version", SETTINGS_SCHEMA_VERSION)
            if not isinstance(version, int) or version > SETTINGS_SCHEMA_VERSION:
                reason = f"were written by a newer version (schema {version})"
        if reason is None:
            return Settings.from_dict(data)
        kept = self._set_aside() if set_aside else None
        where = f" The old file was kept as {kept}." if kept else ""
        self.load_problem = f"Settings file {self.path} {reason}; defaults are used.{where}"
        return Settings()

    def _set_aside(self) -> Path | None:
        target = self.path.with_name(f"{self.path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while target.exists():
            n += 1
            target = target.with_name(f"{self.path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        try:
            os.replace(self.path, target)
        except OSError as exc:
            log.warning("could not keep the unusable settings file aside: %s", exc)
            return None
        return target

    def save(self, settings: Settings) -> None:
        """Atomic write: a crash mid-save never leaves a half-written settings file."""
        text = json.dumps(settings.to_dict(), indent=2, sort_keys=True)
        atomic_write_text(self.path, text, prefix=".settings-", suffix=".json", make_folder=True)
