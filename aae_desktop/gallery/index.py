"""SQLite index of the gallery's PNGs: fast listing and search, always rebuildable from the files.

Each call opens its own short-lived connection, so the index can be used from any thread (the UI
resyncs in the background) without sharing a connection across threads.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.metadata import restore_from_png

INDEX_SCHEMA_VERSION = 1
TEMP_SUFFIX = ".part"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    negative_prompt TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    seed INTEGER,
    width INTEGER,
    height INTEGER,
    excite INTEGER NOT NULL DEFAULT 0,
    favourite INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    request TEXT
);
CREATE INDEX IF NOT EXISTS images_mtime ON images (mtime_ns);
"""
_COLUMNS = "path, size, mtime_ns, prompt, negative_prompt, model, seed, width, height, excite, favourite, source, request"


@dataclass(frozen=True)
class GalleryEntry:
    path: str
    size: int
    mtime_ns: int
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    excite: bool = False
    favourite: bool = False
    source: str = ""  # "aae", "a1111" or "" (a PNG without usable settings)
    request_json: str | None = field(default=None, repr=False)

    @property
    def request(self) -> GenerationRequest | None:
        if not self.request_json:
            return None
        return GenerationRequest.from_dict(json.loads(self.request_json))

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.updated)


def is_gallery_png(path: Path) -> bool:
    """PNGs we list: not hidden, and not a temporary file of a save still in progress."""
    return path.suffix.lower() == ".png" and not path.name.startswith(".") and path.is_file()


def scan_pngs(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {str(p.resolve()): p for p in root.rglob("*.png") if is_gallery_png(p)}


class GalleryIndex:
    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, INDEX_SCHEMA_VERSION):
                # An index from another version is only a cache: start over and rebuild from the files.
                db.execute("DROP TABLE IF EXISTS images")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=15)
        try:
            with db:  # commit on success, roll back on error
                yield db
        finally:
            db.close()

    # -- writing --------------------------------------------------------------------------------
    def add(self, path: str | Path, favourite: bool | None = None) -> GalleryEntry:
        """Index (or re-index) one PNG from what its metadata says."""
        entry = entry_for_file(Path(path))
        with self._connect() as db:
            if favourite is None:
                row = db.execute("SELECT favourite FROM images WHERE path = ?", (entry.path,)).fetchone()
                favourite = bool(row and row[0])
            values = _row_values(entry)
            values[10] = int(favourite)
            db.execute(f"INSERT OR REPLACE INTO images ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", values)
        return GalleryEntry(**{**entry.__dict__, "favourite": bool(favourite)})

    def remove(self, path: str | Path) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM images WHERE path = ?", (_key(path),))

    def set_favourite(self, path: str | Path, favourite: bool) -> None:
        with self._connect() as db:
            db.execute("UPDATE images SET favourite = ? WHERE path = ?", (int(favourite), _key(path)))

    # -- reading --------------------------------------------------------------------------------
    def get(self, path: str | Path) -> GalleryEntry | None:
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM images WHERE path = ?", (_key(path),)).fetchone()
        return _entry(row) if row else None

    def query(self, search: str = "", model: str | None = None, favourites_only: bool = False,
              root: str | Path | None = None, limit: int | None = None) -> list[GalleryEntry]:
        """Entries newest first, filtered by prompt text, model and star."""
        where, args = [], []
        if search.strip():
            for word in search.split():
                where.append("(prompt LIKE ? ESCAPE '\\' OR negative_prompt LIKE ? ESCAPE '\\')")
                pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                args += [pattern, pattern]
        if model:
            where.append("model = ?")
            args.append(model)
        if favourites_only:
            where.append("favourite = 1")
        if root is not None:
            where.append("path LIKE ? ESCAPE '\\'")
            prefix = _folder_prefix(root)
            args.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        sql = f"SELECT {_COLUMNS} FROM images"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY mtime_ns DESC, path DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as db:
            return [_entry(row) for row in db.execute(sql, args)]

    def models(self) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT model FROM images WHERE model != '' ORDER BY model")]

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    # -- keeping up with the folder -------------------------------------------------------------
    def resync(self, root: str | Path) -> SyncReport:
        """Bring the index in line with the PNGs under `root`: files added, changed or removed
        outside the app (a moved file is one removal and one addition)."""
        root = Path(root)
        report = SyncReport()
        on_disk = scan_pngs(root)
        with self._connect() as db:
            prefix = _folder_prefix(root)
            known = {
                r[0]: (r[1], r[2])
                for r in db.execute("SELECT path, size, mtime_ns FROM images")
                if r[0].startswith(prefix)
            }
        for key in known.keys() - on_disk.keys():
            self.remove(key)
            report.removed.append(key)
        for key, path in sorted(on_disk.items()):
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished while we looked
            if key not in known:
                self.add(path)
                report.added.append(key)
            elif known[key] != (stat.st_size, stat.st_mtime_ns):
                self.add(path)
                report.updated.append(key)
        return report

    def rebuild(self, root: str | Path) -> SyncReport:
        """Forget every entry and re-read all PNGs under `root` (stars of files still there are kept)."""
        with self._connect() as db:
            stars = {r[0] for r in db.execute("SELECT path FROM images WHERE favourite = 1")}
            db.execute("DELETE FROM images")
        report = self.resync(root)
        for path in stars:
            self.set_favourite(path, True)
        return report


def _folder_prefix(root: str | Path) -> str:
    """'/pics/gallery/' so that '/pics/gallery2/x.png' is not taken for a file of '/pics/gallery'."""
    return os.path.join(str(Path(root).resolve()), "")


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


def entry_for_file(path: Path) -> GalleryEntry:
    stat = path.stat()
    base = {"path": _key(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        restored = restore_from_png(path)
    except ValueError:
        return GalleryEntry(**base)
    request = restored.request
    from aae_desktop.gallery.model_hash import model_display_name

    return GalleryEntry(
        **base,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        model=model_display_name(request.model),
        seed=request.seed,
        width=request.width,
        height=request.height,
        excite=request.excite.enabled,
        source=restored.source,
        request_json=json.dumps(request.to_dict(), ensure_ascii=False),
    )


def _row_values(entry: GalleryEntry) -> list:
    return [entry.path, entry.size, entry.mtime_ns, entry.prompt, entry.negative_prompt, entry.model, entry.seed,
            entry.width, entry.height, int(entry.excite), int(entry.favourite), entry.source, entry.request_json]


def _entry(row: tuple) -> GalleryEntry:
    values = list(row)
    values[9], values[10] = bool(values[9]), bool(values[10])
    return GalleryEntry(*values)
