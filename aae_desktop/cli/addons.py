"""`aae-desktop loras` and `aae-desktop embeddings`: what the folders hold, with family and A1111 hash."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

COMMANDS = ("loras", "embeddings")


def add_folder_options(parser: argparse.ArgumentParser) -> None:
    """--lora-dir, --embeddings-dir."""
    from aae_desktop.engine.addons.addon_kinds import KINDS

    for kind in KINDS:
        parser.add_argument(kind.flag, help=f"{kind.flag_help} (default: the window's choice, else "
                                            f"<app data>/{kind.folder})")


def folders_from_args(args: argparse.Namespace) -> Any:
    """The folders the flags name, else the window's settings, else the defaults."""
    from aae_desktop.engine.addons.addon_kinds import KINDS
    from aae_desktop.engine.addons.addon_refs import AddonFolders
    from aae_desktop.settings import Settings, SettingsStore

    try:
        settings = SettingsStore().load(set_aside=False)
    except Exception:  # unreadable settings only mean the default folders
        settings = Settings()
    chosen = settings.addon_folders()
    folders = {}
    for kind in KINDS:
        value = getattr(args, kind.flag.lstrip("-").replace("-", "_"), None)  # argparse's name for the flag
        if value and not Path(value).expanduser().is_dir():
            from aae_desktop.engine.errors import InvalidRequest

            raise InvalidRequest(f"{kind.flag}: {value} is not a folder.")
        folders[kind.key] = Path(value).expanduser() if value else getattr(chosen, kind.key)
    return AddonFolders(**folders)


def register(sub: Any) -> None:
    loras = sub.add_parser("loras", help="list the LoRAs found, with family and hash",
                           description="List the LoRA files in the LoRA folder: name (what <lora:NAME> uses), "
                                       "model family, A1111 hash, file.")
    add_folder_options(loras)
    loras.add_argument("--json", action="store_true")
    loras.set_defaults(handler=run_loras)
    embeddings = sub.add_parser("embeddings", help="list the embeddings found, with family and hash",
                                description="List the textual-inversion embeddings: name (the prompt word), "
                                            "vectors, model family, A1111 hash, file.")
    add_folder_options(embeddings)
    embeddings.add_argument("--json", action="store_true")
    embeddings.set_defaults(handler=run_embeddings)


def run_loras(args: argparse.Namespace) -> int:
    from aae_desktop.engine.addons.addon_kinds import LORA
    from aae_desktop.engine.addons.lora_files import inspect_lora

    return _list(args, LORA, lambda path: {"family": inspect_lora(path).family_text},
                 {"family": "unusable"})


def run_embeddings(args: argparse.Namespace) -> int:
    from aae_desktop.engine.addons.addon_kinds import EMBEDDING
    from aae_desktop.engine.addons.embedding_files import inspect_embedding

    def describe(path: Path) -> dict[str, Any]:
        info = inspect_embedding(path)
        return {"vectors": info.vectors, "family": info.family_text}

    return _list(args, EMBEDDING, describe, {"vectors": 0, "family": "unusable"})


def _list(args: argparse.Namespace, kind: Any, describe: Any, unusable: dict[str, Any]) -> int:
    """One row per file of `kind` in its folder: name, what `describe(path)` says (else `unusable` and
    the reason), A1111 hash, path."""
    from aae_desktop.engine.addons import addon_files
    from aae_desktop.engine.errors import AddonError

    folder = getattr(folders_from_args(args), kind.key)
    rows = []
    for file in addon_files.find_kind(kind, folder):
        try:
            details, problem = describe(file.path), ""
        except AddonError as exc:
            details, problem = unusable, str(exc)
        rows.append({"name": file.name, **details,
                     "hash": addon_files.short_hash(addon_files.kind_hash(kind, file.path)),
                     "path": str(file.path), "problem": problem})
    return _print(rows, folder, kind.plural, args.json)


def _print(rows: list[dict[str, Any]], folder: Any, what: str, as_json: bool) -> int:
    import sys

    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"# {what} in {folder}", file=sys.stderr)
    if not rows:
        print("# none found", file=sys.stderr)
    for row in rows:
        extra = f"\t{row['vectors']} vectors" if "vectors" in row else ""
        note = f"\t({row['problem']})" if row["problem"] else ""
        print(f"{row['name']}\t{row['family']}\t{row['hash']}{extra}\t{row['path']}{note}")
    return 0
