"""PNG files on disk: atomic writes that never replace a file, recovering what an interrupted write left,
and checking that a folder can take new images before a run starts.

A save writes a hidden temporary file (`.<stem>~<random>.png.part`) in the destination folder,
flushes it to disk, then gives it its final name with a hard link (which fails instead of replacing
an existing file). A process killed between the flush and the link leaves a complete image under
the hidden name: `tidy_temporary_files` gives it its name back instead of deleting it, and removes
only temporary files that are incomplete and old.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from aae_desktop.atomic_write import USER_UMASK, write_temporary

TEMP_SUFFIX = ".part"
STALE_TEMP_SECONDS = 3600  # a save takes well under a second; older incomplete temp files are leftovers
# A complete image under a temporary name is a killed save once it is this old; younger, it may be
# a save (of this or another process) about to link it, which would then give it a "-2" twin.
RECOVER_AFTER_SECONDS = 60
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC: the last 8 bytes of every complete PNG
# Between a save's stem and mkstemp's 8 random characters ([a-z0-9_]): a mark no prompt slug or hand-made
# name carries, so recovery drops exactly what the save added and nothing of the name ("-" did not say
# which dash was ours: `.my-holiday.png.part` came back as `my.png`).
TEMP_MARK = "~"
_RANDOM_PART = re.compile(re.escape(TEMP_MARK) + r"[a-z0-9_]{8}$")


class FolderUnusable(OSError):
    """A folder that cannot take new images; the message says which and why, for the artist."""


def write_png_atomic(image: Image.Image, folder: Path, stem: str, pnginfo: Any = None,
                     replace: bool = False) -> Path:
    """Write `image` as `<stem>.png` in `folder` (or `<stem>-2.png`, ... if taken); return the path.

    With `replace`, an existing `<stem>.png` is replaced instead (atomically: readers see the old
    file or the new one, never a mix).
    """
    folder.mkdir(parents=True, exist_ok=True)
    # An image is a document like any other: other programs of the user's (viewers, backups, a shared
    # folder) read it, so not mkstemp's owner-only 0600.
    tmp = write_temporary(folder, lambda handle: image.save(handle, format="PNG", pnginfo=pnginfo),
                          prefix=temporary_prefix(stem), suffix=".png" + TEMP_SUFFIX, usual_permissions=True)
    try:
        if replace:
            os.replace(tmp, folder / f"{stem}.png")
            return folder / f"{stem}.png"
        return claim_name(tmp, folder, stem, ".png")
    finally:
        tmp.unlink(missing_ok=True)


def temporary_prefix(stem: str) -> str:
    """The start of a save's hidden temporary name; mkstemp adds the random part and the suffix."""
    return f".{stem}{TEMP_MARK}"


_UMASK = USER_UMASK  # what a saved image's permissions follow (tests compare with it)


def claim_name(tmp: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Give the complete file `tmp` the first free name of `<stem><suffix>`, `<stem>-2<suffix>`, ..."""
    for n in range(1, 10_000):
        target = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.link(tmp, target)  # atomic, and refuses to replace an existing file
            return target
        except FileExistsError:
            continue
        except OSError:
            # File systems without hard links (some FAT/network drives): rename cannot overwrite on
            # Windows; elsewhere the exists() check narrows, but cannot close, the race.
            if target.exists():
                continue
            os.rename(tmp, target)
            return target
    raise OSError(f"No free file name for {stem} in {folder}")


def is_complete_png(path: Path) -> bool:
    """True when the file is a whole, readable PNG: signature, every chunk's CRC, the end marker, pixels."""
    try:
        with open(path, "rb") as handle:
            if handle.read(8) != PNG_SIGNATURE:
                return False
            handle.seek(-8, os.SEEK_END)
            if handle.read(8) != PNG_END:
                return False
        with Image.open(path) as img:
            img.verify()  # walks every chunk and checks its CRC
        with Image.open(path) as img:
            img.load()  # and the pixel data decodes
        return True
    except Exception:  # any way of being unreadable means "not a complete image"
        return False


@dataclass
class TidyReport:
    recovered: list[Path] = field(default_factory=list)  # complete images given their names back
    removed: list[Path] = field(default_factory=list)  # incomplete leftovers deleted


def tidy_temporary_files(root: Path, now: float | None = None) -> TidyReport:
    """Recover complete images that killed saves left under temporary names; delete stale incomplete ones."""
    report = TidyReport()
    if not root.is_dir():
        return report
    now = time.time() if now is None else now
    for path in root.rglob(f".*{TEMP_SUFFIX}"):
        try:
            age = now - path.stat().st_mtime
            if path.name.endswith(".png" + TEMP_SUFFIX) and age >= RECOVER_AFTER_SECONDS and is_complete_png(path):
                report.recovered.append(claim_name(path, path.parent, _stem_of(path), ".png"))
                path.unlink()
            elif age >= STALE_TEMP_SECONDS:
                path.unlink()
                report.removed.append(path)
        except OSError:
            pass  # vanished meanwhile, or a folder we cannot change: leave it for next time
    return report


def _stem_of(temp: Path) -> str:
    """'.101112-42-a-cat~k3y9_x2q.png.part' -> '101112-42-a-cat': the random part a save adds is dropped;
    any other name ('.my-holiday.png.part', or one left by a version that wrote '-' + random) is kept whole."""
    name = temp.name[1:].removesuffix(".png" + TEMP_SUFFIX)
    return _RANDOM_PART.sub("", name) or "recovered"


def check_folder_writable(folder: Path) -> None:
    """Raise FolderUnusable unless new images can be written into `folder` (created when missing)."""
    folder = Path(folder).expanduser()
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise FolderUnusable(f"{blocker} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".aae-write-test-", suffix=TEMP_SUFFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise FolderUnusable(f"{folder} cannot be written ({exc.strerror or exc})") from exc
