"""`aae-desktop gallery rebuild|list`: the gallery index from the command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("gallery", help="rebuild or list the image gallery")
    actions = parser.add_subparsers(dest="gallery_command", parser_class=type(parser))
    parser.set_defaults(handler=lambda args: _missing_action(parser))

    rebuild = actions.add_parser("rebuild", help="re-read every PNG in the gallery folder into the index")
    rebuild.add_argument("dir", nargs="?", help="gallery folder (default: the app's gallery folder)")
    rebuild.set_defaults(handler=run_rebuild)

    listing = actions.add_parser("list", help="list gallery images, newest first")
    listing.add_argument("dir", nargs="?", help="gallery folder (default: the app's gallery folder)")
    listing.add_argument("--json", action="store_true", help="print a JSON array with each image's full settings")
    listing.add_argument("--search", default="", help="only images whose prompt contains these words")
    listing.add_argument("--model", help="only images made with this model name")
    listing.add_argument("--favourites", action="store_true", help="only starred images")
    listing.add_argument("--limit", type=int, help="at most this many images")
    listing.set_defaults(handler=run_list)


def _missing_action(parser: argparse.ArgumentParser) -> int:
    from aae_desktop.cli.usage import UsageError

    raise UsageError("gallery needs an action: rebuild or list (see `aae-desktop gallery --help`).")


def configured_gallery_dir() -> Path:
    """The folder the window saves into: the settings' choice, else the default."""
    from aae_desktop.gallery.paths import default_gallery_dir

    try:
        from aae_desktop.settings import SettingsStore

        chosen = getattr(SettingsStore().load(set_aside=False), "gallery_dir", "")
    except Exception:  # unreadable settings only mean the default folder
        chosen = ""
    return Path(chosen).expanduser() if chosen else default_gallery_dir()


def _open_store(folder: str | None):
    """The gallery store for `folder` (default: the configured one); UsageError for a folder that cannot
    be listed, a note on stderr for one that can be listed but takes no new images."""
    import os

    from aae_desktop.cli.usage import UsageError
    from aae_desktop.gallery.store import GalleryStore

    root = Path(folder).expanduser() if folder else configured_gallery_dir()
    if root.exists() and not root.is_dir():
        raise UsageError(f"The gallery folder {root} is a file, not a folder.")
    if folder and not root.is_dir():
        raise UsageError(f"gallery folder not found: {root}")
    if root.is_dir() and not os.access(root, os.R_OK | os.X_OK):
        raise UsageError(f"The gallery folder {root} cannot be read (permission denied).")
    if root.is_dir() and not os.access(root, os.W_OK):
        note(f"the gallery folder {root} is read-only: it can be listed, but new images cannot be saved there.")
    return GalleryStore(root)


def note(text: str) -> None:
    from aae_desktop.cli.progress import echo

    echo(f"aae-desktop: note: {text}", err=True)


def print_notes(store) -> None:
    """What the store wants the user to know (an index moved aside, images recovered), one line each."""
    for text in store.take_notes():
        note(text)


def run_rebuild(args) -> int:
    store = _open_store(args.dir)
    store.rebuild()
    total, stars = store.counts()
    print_notes(store)
    print(f"Indexed {total} image{'s' if total != 1 else ''} ({stars} starred) in {store.root} "
          f"(index: {store.index.db_path}).")
    return 0


def run_list(args) -> int:
    from aae_desktop.cli.usage import UsageError

    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must not be negative.")
    store = _open_store(args.dir)
    store.resync()  # files added or removed since the window last ran
    entries = store.entries(args.search, args.model, args.favourites, limit=args.limit)
    print_notes(store)
    if args.json:
        rows = []
        for e in entries:
            rows.append({
                "path": e.path, "prompt": e.prompt, "negative_prompt": e.negative_prompt, "model": e.model,
                "seed": e.seed, "width": e.width, "height": e.height, "attend_and_excite": e.excite,
                "favourite": e.favourite, "metadata": e.source or None,
                "request": json.loads(e.request_json) if e.request_json else None,
            })
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for e in entries:
        star = "*" if e.favourite else " "
        seed = "" if e.seed is None else e.seed
        print(f"{star} {e.path}\t{seed}\t{e.prompt.splitlines()[0] if e.prompt else '(no settings)'}")
    return 0


# -- `aae-desktop render --gallery [DIR]` ------------------------------------------------------------
def add_gallery_option(parser: argparse.ArgumentParser) -> None:
    """The render option; a bare `--gallery` means the app's gallery folder."""
    parser.add_argument("--gallery", nargs="?", const="", metavar="DIR",
                        help="also save into the gallery (default folder: the app's), with the same metadata "
                             "and attention maps, and add the images to the gallery index")


def check_gallery_option(value: str | None) -> None:
    """Checked before the slow model load, like every other argument: the folder must take new images."""
    from aae_desktop.cli.usage import UsageError
    from aae_desktop.gallery.png_files import FolderUnusable, check_folder_writable

    if value is None:
        return
    folder = Path(value).expanduser() if value else configured_gallery_dir()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--gallery must name a folder, not a file: {folder}")
    try:
        check_folder_writable(folder)
    except FolderUnusable as exc:
        raise UsageError(f"--gallery: the gallery folder cannot take new images: {exc}.") from None


def gallery_store(value: str | None):
    """The store `render --gallery [DIR]` saves into (`value` "" = the configured folder)."""
    from aae_desktop.engine.tokens import load_tokenizer
    from aae_desktop.gallery.store import GalleryStore

    return GalleryStore(Path(value).expanduser() if value else configured_gallery_dir(), tokenizer=load_tokenizer())


def save_to_gallery(result, value: str | None) -> list[Path]:
    """Save a finished render into the gallery folder (`value` "" = the configured one)."""
    store = gallery_store(value)
    paths = [saved.path for saved in store.save_result(result)]
    print_notes(store)
    return paths
