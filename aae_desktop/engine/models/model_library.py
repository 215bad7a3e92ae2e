"""What the app remembers about models: the recent list and the SD 2.x family chosen per file (JSON, no Qt)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aae_desktop.atomic_write import atomic_write_text
from aae_desktop.user_dirs import settings_file

LIBRARY_SCHEMA_VERSION = 1
MAX_RECENT = 12


def default_library_path() -> Path:
    """models.json beside the settings file (AAE_DESKTOP_CONFIG moves both, for tests and portable installs)."""
    return settings_file().parent / "models.json"


@dataclass(frozen=True)
class RecentModel:
    source: str  # what load_model() accepts: folder, checkpoint file or cache repo id
    name: str
    kind: str = ""  # "diffusers folder", "single file", "Hugging Face cache"
    family: str = ""
    last_used: float = 0.0


class ModelLibrary:
    """Reads and writes one small JSON file; every change is saved at once (atomically)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_library_path()
        self._data = self._read()

    # -- recent models ---------------------------------------------------------------------------
    def recent(self) -> list[RecentModel]:
        items = []
        for raw in self._data.get("recent", []):
            try:
                items.append(RecentModel(**raw))
            except TypeError:
                continue  # an entry from a future version: skip it rather than lose the rest
        return items

    def add_recent(self, source: str, name: str = "", kind: str = "", family: str = "") -> None:
        entry = RecentModel(str(source), name or Path(str(source)).name, kind, family, time.time())
        rest = [r for r in self.recent() if r.source != entry.source]
        self._data["recent"] = [asdict(r) for r in [entry, *rest][:MAX_RECENT]]
        self._write()

    def remove_recent(self, source: str) -> None:
        self._data["recent"] = [asdict(r) for r in self.recent() if r.source != str(source)]
        self._write()

    # -- SD 2.x 512 vs 768, answered once per file -----------------------------------------------------
    def family_for(self, path: str | Path) -> str | None:
        key = _file_key(path)
        return self._data.get("families", {}).get(key) if key else None

    def remember_family(self, path: str | Path, family: str) -> None:
        key = _file_key(path)
        if key:
            self._data.setdefault("families", {})[key] = family
            self._write()

    # -- memory options (device and precision live in the app settings) -----------------------------------
    def load_options(self) -> dict[str, Any]:
        value = self._data.get("load_options", {})
        return value if isinstance(value, dict) else {}

    def set_load_options(self, options: dict[str, Any]) -> None:
        self._data["load_options"] = dict(options)
        self._write()

    # -- storage ---------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("schema_version", 1) > LIBRARY_SCHEMA_VERSION:
            return {}
        return data

    def _write(self) -> None:
        self._data["schema_version"] = LIBRARY_SCHEMA_VERSION
        atomic_write_text(self.path, json.dumps(self._data, indent=2, sort_keys=True), prefix=".models-",
                          suffix=".json", make_folder=True)


def _file_key(path: str | Path) -> str | None:
    # Path + size: a different file saved under the same name is asked about again.
    try:
        resolved = Path(path).expanduser().resolve()
        return f"{resolved}|{resolved.stat().st_size}"
    except OSError:
        return None
