"""`aae-desktop loras` and `aae-desktop embeddings`: what the folders hold, with family and A1111 hash."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

COMMANDS = ("loras", "embeddings")


def add_folder_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lora-dir", help="folder of LoRA .safetensors files, searched with its subfolders "
                                           "(default: the window's choice, else <app data>/loras)")
    parser.add_argument("--embeddings-dir", help="folder of textual-inversion embeddings (.pt, .bin, .safetensors) "
                                                 "(default: the window's choice, else <app data>/embeddings)")


def folders_from_args(args: argparse.Namespace) -> Any:
    """The folders the flags name, else the window's settings, else the defaults."""
    from aae_desktop.engine.addon_refs import AddonFolders
    from aae_desktop.settings import Settings, SettingsStore

    try:
        settings = SettingsStore().load(set_aside=False)
    except Exception:  # unreadable settings only mean the default folders
        settings = Settings()
    chosen = settings.addon_folders()
    lora_dir = getattr(args, "lora_dir", None)
    embeddings_dir = getattr(args, "embeddings_dir", None)
    for flag, value in (("--lora-dir", lora_dir), ("--embeddings-dir", embeddings_dir)):
        if value and not Path(value).expanduser().is_dir():
            from aae_desktop.engine.errors import InvalidRequest

            raise InvalidRequest(f"{flag}: {value} is not a folder.")
    return AddonFolders(Path(lora_dir).expanduser() if lora_dir else chosen.loras,
                        Path(embeddings_dir).expanduser() if embeddings_dir else chosen.embeddings)


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
    from aae_desktop.engine import addon_files
    from aae_desktop.engine.errors import AddonError
    from aae_desktop.engine.lora_files import inspect_lora

    folder = folders_from_args(args).loras
    rows = []
    for file in addon_files.find_loras(folder):
        try:
            info = inspect_lora(file.path)
            family, problem = info.family_text, ""
        except AddonError as exc:
            family, problem = "unusable", str(exc)
        rows.append({"name": file.name, "family": family, "hash": addon_files.short_hash(addon_files.lora_hash(file.path)),
                     "path": str(file.path), "problem": problem})
    return _print(rows, folder, "LoRAs", args.json)


def run_embeddings(args: argparse.Namespace) -> int:
    from aae_desktop.engine import addon_files
    from aae_desktop.engine.embedding_files import inspect_embedding
    from aae_desktop.engine.errors import AddonError

    folder = folders_from_args(args).embeddings
    rows = []
    for file in addon_files.find_embeddings(folder):
        try:
            info = inspect_embedding(file.path)
            family, vectors, problem = info.family_text, info.vectors, ""
        except AddonError as exc:
            family, vectors, problem = "unusable", 0, str(exc)
        rows.append({"name": file.name, "vectors": vectors, "family": family,
                     "hash": addon_files.short_hash(addon_files.file_hash(file.path)), "path": str(file.path),
                     "problem": problem})
    return _print(rows, folder, "embeddings", args.json)


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
