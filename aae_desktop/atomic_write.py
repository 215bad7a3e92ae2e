"""Writing a file so that readers (and a crash) see the old content or the new, never half of it.

The new content goes to a hidden temporary file in the target's own folder (a rename is only atomic
within one file system), is flushed to disk, then renamed over the target; on any error the temporary
file is removed again. Callers keep their own temporary names (`.part` files in the gallery are what
its clean-up recognises), permissions and durability. No Qt here: the engine and gallery use it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import, before the app starts threads
    # (a thread creating a file in between would otherwise get the temporary 0 mask).
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


USER_UMASK = _read_umask() if os.name == "posix" else 0


def give_usual_permissions(path: str | Path) -> None:
    """mkstemp makes files only their owner can read (0600); a document the user shares with other
    programs gets what a plain open() would give it under the user's umask (usually 0644)."""
    if os.name == "posix":  # Windows files follow the folder's ACL
        os.chmod(path, 0o666 & ~USER_UMASK)


def write_temporary(folder: str | Path, write: Callable[[IO[Any]], Any], *, prefix: str = ".",
                    suffix: str = ".part", text: bool = False, usual_permissions: bool = False,
                    durable: bool = True) -> Path:
    """A new hidden file in `folder` holding what `write(handle)` wrote; the caller gives it its name.

    `durable` flushes it to disk before returning (so a rename after a power cut never exposes an
    empty file); caches that only save time skip that. Nothing is left behind if `write` fails.
    """
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    tmp = Path(name)
    try:
        if usual_permissions:
            give_usual_permissions(tmp)
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(target: str | Path, write: Callable[[IO[Any]], Any], *, prefix: str | None = None,
                 suffix: str = ".part", text: bool = False, usual_permissions: bool = False,
                 durable: bool = True, make_folder: bool = False) -> Path:
    """Replace `target` with what `write(handle)` writes (see write_temporary); return `target`.

    The temporary name defaults to `.<target name>…part`; `make_folder` creates missing folders first.
    """
    target = Path(target)
    if make_folder:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temporary(target.parent, write, prefix=f".{target.name}" if prefix is None else prefix,
                          suffix=suffix, text=text, usual_permissions=usual_permissions, durable=durable)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(target: str | Path, data: bytes, **options: Any) -> Path:
    return atomic_write(target, lambda handle: handle.write(data), **options)


def atomic_write_text(target: str | Path, text: str, **options: Any) -> Path:
    """`text` in UTF-8 (settings and caches are JSON; a locale's encoding would not read back elsewhere)."""
    return atomic_write(target, lambda handle: handle.write(text), text=True, **options)
