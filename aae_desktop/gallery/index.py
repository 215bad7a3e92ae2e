"""SQLite index of the gallery's PNGs: fast listing and search, always rebuildable from the files.

Each call opens its own short-lived connection, so the index can be used from any thread (the UI
resyncs in the background) without sharing a connection across threads.

The index is only a cache of what the PNGs say, so it is never trusted over them: a damaged file
is moved aside (and `notes` says where) and an empty one takes its place, a rebuild fills a new
file and swaps it in only once it is complete, and a PNG whose metadata cannot be used is listed
without it. Stars, which the PNGs cannot say, are marker files beside them (gallery.stars) that every
(re)indexing reads.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.metadata import restore_from_png
from aae_desktop.gallery.png_files import TEMP_SUFFIX  # noqa: F401  (re-exported: where callers look for it)
from aae_desktop.gallery.stars import is_starred, write_markers

# 2: stars are also kept beside the images. A version-1 index (same table) gets its stars written
# out as markers once, when it is opened.
INDEX_SCHEMA_VERSION = 2
_STARS_ONLY_IN_INDEX = 1
# SQLite's own verdicts on a file that is not (or no longer) a usable database.
_DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}
# ... and on a place where no database can be kept (a read-only or missing folder, a full disk).
_UNUSABLE_PLACE = {"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR", "SQLITE_FULL"}
T = TypeVar("T")

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
        self.notes: list[str] = []  # what the user should hear about (a damaged index moved aside...)
        self._notes_lock = threading.Lock()  # notes are added on the saving thread, taken on the UI thread
        self.recreated = False  # set when a damaged file was replaced by an empty index: resync it
        self._repair_note: str | None = None  # said once the repair is done, with what it found
        try:
            if self._with_db(self._create_schema) == _STARS_ONLY_IN_INDEX:
                self._write_star_markers()
        except (sqlite3.OperationalError, OSError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _error_name(exc) not in _UNUSABLE_PLACE:
                raise
            # The gallery still works (saving, listing) with an index that lives for this session.
            unusable = self.db_path
            self.db_path = Path(tempfile.mkdtemp(prefix="aae-desktop-index-")) / self.db_path.name
            self._note(f"The gallery index {unusable} cannot be opened ({exc}); a temporary index is used for "
                       "this session.")
            self._with_db(self._create_schema)

    def _note(self, text: str) -> None:
        with self._notes_lock:
            self.notes.append(text)

    def take_notes(self) -> list[str]:
        self.finish_repair(None)  # a repair nobody counted is still worth hearing about
        with self._notes_lock:
            notes, self.notes = self.notes, []
        return notes

    def finish_repair(self, root: str | Path | None) -> None:
        """A damaged index was set aside and the new one filled from the images under `root`: say so,
        with how many images and stars came back."""
        with self._notes_lock:
            text, self._repair_note = self._repair_note, None
        if text is None:
            return
        if root is not None:
            total, stars = self.counts(root)
            text += f" ({total} image{'s' if total != 1 else ''}, {stars} starred)"
        self._note(text + ".")

    @staticmethod
    def _create_schema(db: sqlite3.Connection) -> int:
        """Make the table; return the version the file had (0: new)."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, _STARS_ONLY_IN_INDEX, INDEX_SCHEMA_VERSION):
            # An index from another version is only a cache: start over and rebuild from the files.
            db.execute("DROP TABLE IF EXISTS images")
        db.executescript(_SCHEMA)
        if version != _STARS_ONLY_IN_INDEX:  # that one moves up once its stars are beside the images
            db.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")
        return version

    def _write_star_markers(self) -> None:
        """One-time upgrade: the stars of an index from before the markers get their markers (tried
        again on the next opening while a folder refuses them; the index keeps those stars meanwhile)."""
        starred = self._with_db(lambda db: [r[0] for r in db.execute("SELECT path FROM images WHERE favourite = 1")])
        if write_markers(starred):
            self._with_db(lambda db: db.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}"))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.db_path, timeout=15)
        try:
            with db:  # commit on success, roll back on error
                yield db
        finally:
            db.close()

    def _with_db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on a connection; a damaged file is set aside once (a file deleted while in use is
        made again) and `work` runs on a fresh one, which `recreated` asks to be filled from the images."""
        try:
            with self._connect() as db:
                return work(db)
        except sqlite3.DatabaseError as exc:
            if _error_name(exc) in _DAMAGED:
                self._set_aside(exc)
            elif "no such table" in str(exc):  # SQLite made an empty file where the index was
                self.recreated = True
                with self._notes_lock:
                    self._repair_note = (f"The gallery index {self.db_path} was deleted; it was made again and "
                                         "rebuilt from the images")
            else:
                raise
        with self._connect() as db:
            self._create_schema(db)
            return work(db)

    def _set_aside(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.db_path.with_name(f"{self.db_path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.db_path.with_name(f"{self.db_path.name}.damaged-{stamp}-{n}")
        os.replace(self.db_path, target)
        for extra in ("-journal", "-wal", "-shm"):  # a hot journal of the damaged file must not be replayed
            side = self.db_path.with_name(self.db_path.name + extra)
            if side.exists():
                os.replace(side, target.with_name(target.name + extra))
        self.recreated = True
        with self._notes_lock:
            self._repair_note = (f"The gallery index {self.db_path} was damaged ({exc}); it was moved to {target} "
                                 "and rebuilt from the images")

    # -- writing --------------------------------------------------------------------------------
    def add(self, path: str | Path, favourite: bool | None = None) -> GalleryEntry:
        """Index (or re-index) one PNG from what its metadata says."""
        entry = entry_for_file(Path(path))

        def write(db: sqlite3.Connection) -> bool:
            star = favourite
            if star is None:
                # Either record counts: a marker that could not be written must not cost a star.
                row = db.execute("SELECT favourite FROM images WHERE path = ?", (entry.path,)).fetchone()
                star = bool(row and row[0]) or is_starred(path)
            values = _row_values(entry)
            values[10] = int(star)
            db.execute(f"INSERT OR REPLACE INTO images ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", values)
            return bool(star)

        return GalleryEntry(**{**entry.__dict__, "favourite": self._with_db(write)})

    def remove(self, path: str | Path) -> None:
        self._with_db(lambda db: db.execute("DELETE FROM images WHERE path = ?", (_key(path),)))

    def set_favourite(self, path: str | Path, favourite: bool) -> None:
        self._with_db(lambda db: db.execute("UPDATE images SET favourite = ? WHERE path = ?",
                                            (int(favourite), _key(path))))

    # -- reading --------------------------------------------------------------------------------
    def get(self, path: str | Path) -> GalleryEntry | None:
        row = self._with_db(lambda db: db.execute(f"SELECT {_COLUMNS} FROM images WHERE path = ?",
                                                  (_key(path),)).fetchone())
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
            args.append(_under(root))
        sql = f"SELECT {_COLUMNS} FROM images"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY mtime_ns DESC, path DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._with_db(lambda db: [_entry(row) for row in db.execute(sql, args)])

    def models(self) -> list[str]:
        return self._with_db(lambda db: [r[0] for r in db.execute(
            "SELECT DISTINCT model FROM images WHERE model != '' ORDER BY model")])

    def count(self) -> int:
        return self._with_db(lambda db: db.execute("SELECT COUNT(*) FROM images").fetchone()[0])

    def counts(self, root: str | Path) -> tuple[int, int]:
        """(images, starred images) under `root`."""
        total, stars = self._with_db(lambda db: db.execute(
            "SELECT COUNT(*), SUM(favourite) FROM images WHERE path LIKE ? ESCAPE '\\'", (_under(root),)).fetchone())
        return total, stars or 0

    def files(self) -> list[tuple[str, int]]:
        """(path, mtime_ns) of every indexed image, whatever its folder (what thumbnails are kept for)."""
        return self._with_db(lambda db: db.execute("SELECT path, mtime_ns FROM images").fetchall())

    # -- keeping up with the folder -------------------------------------------------------------
    def resync(self, root: str | Path) -> SyncReport:
        """Bring the index in line with the PNGs under `root`: files added, changed or removed
        outside the app (a moved file is one removal and one addition)."""
        root = Path(root)
        report = SyncReport()
        on_disk = scan_pngs(root)
        prefix = _folder_prefix(root)
        known = self._with_db(lambda db: {
            r[0]: (r[1], r[2])
            for r in db.execute("SELECT path, size, mtime_ns FROM images")
            if r[0].startswith(prefix)
        })
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
        """Re-read all PNGs under `root` into a new index file (stars from the markers beside the images,
        and those of the old index for files still there) and swap it in only once it is complete: an
        interrupted rebuild leaves the old index."""
        stars = self._with_db(lambda db: {r[0] for r in db.execute("SELECT path FROM images WHERE favourite = 1")})
        fresh_path = self.db_path.with_name(f".{self.db_path.name}.rebuild-{os.getpid()}")
        try:
            for leftover in fresh_path.parent.glob(fresh_path.name + "*"):
                leftover.unlink()
            fresh = GalleryIndex(fresh_path)
            report = fresh.resync(root)
            fresh._with_db(lambda db: db.executemany("UPDATE images SET favourite = 1 WHERE path = ?",
                                                     [(p,) for p in stars]))
            os.replace(fresh_path, self.db_path)
        finally:
            for leftover in fresh_path.parent.glob(fresh_path.name + "*"):
                leftover.unlink(missing_ok=True)
        self.recreated = False
        return report


def _error_name(exc: BaseException) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if not name:  # Python < 3.11 has no error names: read SQLite's wording
        text = str(exc).lower()
        name = ("SQLITE_NOTADB" if "not a database" in text else "SQLITE_CORRUPT" if "malformed" in text
                else "SQLITE_CANTOPEN" if "unable to open" in text else "SQLITE_READONLY" if "readonly" in text
                else "")
    return "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR


def _folder_prefix(root: str | Path) -> str:
    """'/pics/gallery/' so that '/pics/gallery2/x.png' is not taken for a file of '/pics/gallery'."""
    return os.path.join(str(Path(root).resolve()), "")


def _under(root: str | Path) -> str:
    """A LIKE pattern for the paths under `root` (its wildcards taken literally)."""
    prefix = _folder_prefix(root)
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


def entry_for_file(path: Path) -> GalleryEntry:
    """The entry for one PNG; a file whose settings cannot be used is listed without them."""
    stat = path.stat()
    base = {"path": _key(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        restored = restore_from_png(path)
        request = restored.request
        from aae_desktop.gallery.model_hash import model_display_name

        return GalleryEntry(
            **base,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            model=model_display_name(request.model),
            seed=request.seed if restored.seed_known else None,  # listed without the seed it did not have
            width=request.width,
            height=request.height,
            excite=request.excite.enabled,
            source=restored.source,
            request_json=json.dumps(request.to_dict(), ensure_ascii=False),
        )
    except Exception:  # whatever another program wrote there, the image itself is still listed
        return GalleryEntry(**base)


def _row_values(entry: GalleryEntry) -> list:
    return [entry.path, entry.size, entry.mtime_ns, entry.prompt, entry.negative_prompt, entry.model, entry.seed,
            entry.width, entry.height, int(entry.excite), int(entry.favourite), entry.source, entry.request_json]


def _entry(row: tuple) -> GalleryEntry:
    values = list(row)
    values[9], values[10] = bool(values[9]), bool(values[10])
    return GalleryEntry(*values)
