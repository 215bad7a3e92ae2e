"""`aae-desktop models`: the SD 1.x/2.x/SDXL models in the Hugging Face cache and the recent list; `--inspect FILE`."""
from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "models",
        help="list models in the Hugging Face cache and recently used ones",
        description="List Stable Diffusion models found in the local Hugging Face cache and the app's recent "
        "list (never touches the network). Any listed source works with `render --model`.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--inspect", metavar="MODEL",
                   help="show the family detected for a .safetensors/.ckpt file, a diffusers folder or a cached id")
    p.add_argument("--cache-dir", help="Hugging Face hub cache folder (default: HF_HUB_CACHE / HF_HOME / ~/.cache)")
    p.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace) -> int:
    if args.inspect:
        return _inspect(args.inspect, args.json)
    from aae_desktop.engine.models.hf_cache import hf_cache_dir, list_cached_models
    from aae_desktop.engine.models.model_info import format_size
    from aae_desktop.engine.models.families import family_label
    from aae_desktop.engine.models.model_library import ModelLibrary

    cache_dir = args.cache_dir or str(hf_cache_dir())
    found = list_cached_models(cache_dir, include_unsupported=True)
    cached = [m for m in found if not m.refusal]
    unusable = [m for m in found if m.refusal]  # listed with the reason, so nobody wonders where they went
    recent = ModelLibrary().recent()
    if args.json:
        print(json.dumps({
            "cache_dir": cache_dir,
            "cache": [
                {"repo_id": m.repo_id, "family": m.family, "size_bytes": m.size_on_disk, "commit": m.commit,
                 "snapshot": str(m.snapshot), "complete": m.complete, "missing": list(m.missing)}
                for m in cached
            ],
            "not_supported": [{"repo_id": m.repo_id, "pipeline_class": m.pipeline_class, "reason": m.refusal}
                              for m in unusable],
            "recent": [{"source": r.source, "name": r.name, "kind": r.kind, "family": r.family} for r in recent],
        }, indent=2))
        return 0
    print(f"Hugging Face cache ({cache_dir}):")
    if not cached:
        print("  (no Stable Diffusion models)")
    for m in cached:
        state = "" if m.complete else f"  INCOMPLETE (missing {', '.join(m.missing)})"
        print(f"  {m.repo_id:<45} {family_label(m.family):<30} {format_size(m.size_on_disk):>9}{state}")
    if unusable:
        print("  Also there, but not models this app runs:")
        for m in unusable:
            print(f"    {m.refusal}")
    print("Recent:")
    if not recent:
        print("  (none yet)")
    for r in recent:
        family = family_label(r.family)
        print(f"  {r.source}" + (f"  [{r.kind}, {family}]" if r.kind else ""))
    return 0


def _inspect(path: str, as_json: bool) -> int:
    from pathlib import Path

    from aae_desktop.engine.models.families import family_label
    from aae_desktop.engine.models.hf_cache import looks_like_repo_id, resolve_cached_repo
    from aae_desktop.engine.models.model_info import format_size
    from aae_desktop.engine.models.single_file import inspect_checkpoint, nonstandard_width

    folder = Path(path).expanduser()
    if folder.is_dir():
        return _inspect_folder(folder, folder.name, as_json)
    if looks_like_repo_id(path):
        return _inspect_folder(resolve_cached_repo(path).snapshot, path, as_json)
    # ModelLoadError (incl. files we cannot run) -> one line on stderr, exit 2. A width no bundled config
    # fits is described, not refused: saying what the file is, and how to run it, is what --inspect is for.
    info = inspect_checkpoint(path, standard_widths=False)
    family = family_label(info.family) if info.family else f"{info.family_reason} (render asks for --family)"
    problem = nonstandard_width(info.path.name, info.text_encoder, info.cross_attention_dim)
    command = _config_command(info.path) if problem else ""
    if as_json:
        print(json.dumps({"path": str(info.path), "family": info.family, "family_label": family,
                          "reason": info.family_reason, "text_encoder": info.text_encoder,
                          "cross_attention_dim": info.cross_attention_dim, "size_bytes": info.size,
                          "standard_width": not problem, "suggested_command": command or None}, indent=2))
        return 0
    print(f"{info.path.name}: {family}")
    print(f"  because: {info.family_reason}")
    if info.family_reason != info.text_encoder_description:
        print(f"  text encoders: {info.text_encoder_description}")
    print(f"  size: {format_size(info.size)}; text conditioning {info.cross_attention_dim} wide")
    if problem:
        print(f"  note: {problem}, so the bundled configs do not fit it. Render it with a diffusers config "
              "folder (DIR) whose widths fit:")
        print(f"    {command}")
    return 0


def _config_command(path: Any) -> str:
    """A `render` command for a file that needs its own config folder (test_models_cli parses it)."""
    import shlex

    return (f"aae-desktop render --model {shlex.quote(str(path))} --model-config DIR "
            "--prompt 'a cat and a frog' --tokens cat,frog --out image.png")


def _inspect_folder(folder: Any, name: str, as_json: bool) -> int:
    """A diffusers folder (or cache snapshot): its family from its configs, as loading would decide."""
    from aae_desktop.engine.errors import ModelLoadError
    from aae_desktop.engine.models.families import family_label
    from aae_desktop.engine.models.hf_cache import folder_family
    from aae_desktop.engine.models.model_info import format_size

    from aae_desktop.engine.models.unsupported import check_folder_supported

    index = folder / "model_index.json"
    check_folder_supported(folder)  # a pipeline this app cannot run: one line on stderr, exit 2, as for a file
    if not index.is_file():
        raise ModelLoadError(f"{folder} is not a diffusers model folder (model_index.json is missing).")
    configs = {}
    for key, file in (("pipeline", index), ("unet", folder / "unet" / "config.json"),
                      ("scheduler", folder / "scheduler" / "scheduler_config.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        configs[key] = data if isinstance(data, dict) else {}
    family = folder_family(folder)
    reason = (f"{configs['pipeline'].get('_class_name', 'unknown pipeline')}, cross-attention "
              f"{configs['unet'].get('cross_attention_dim', '?')} wide, "
              f"{configs['scheduler'].get('prediction_type', 'epsilon')} prediction")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if as_json:
        print(json.dumps({"path": str(folder), "kind": "diffusers folder", "family": family, "reason": reason,
                          "size_bytes": size}, indent=2))
        return 0
    print(f"{name}: {family_label(family)} (diffusers folder)")
    print(f"  because: {reason}")
    print(f"  size: {format_size(size)}")
    return 0


# How out-of-memory advice names each remedy on the command line (see engine.memory_advice).
MEMORY_FLAGS = {
    "smaller_size": "a smaller --width/--height",
    "fp16": "--precision fp16",
    "vae_tiling": "--vae-tiling",
    "attention_slicing": "--attention-slicing",
    "cpu_offload": "--cpu-offload",
    "close_programs": "closing other programs that use the same memory",
}


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """Model-loading options shared by commands that load a model (render): family, config, memory."""
    from aae_desktop.engine.models.families import family_label
    from aae_desktop.engine.models.single_file import single_file_families

    families = single_file_families()
    parser.add_argument("--family", default="auto", choices=["auto", *families],
                        help="single-file checkpoints: " + ", ".join(f"{k} = {family_label(k)}" for k in families)
                             + "; auto detects it, or uses the answer given in the window for that file")
    parser.add_argument("--model-config", metavar="DIR",
                        help="single-file checkpoints: a diffusers config folder to use instead of the bundled one")
    parser.add_argument("--vae-slicing", action="store_true",
                        help="no effect: images are already decoded one at a time; for large images use --vae-tiling")
    parser.add_argument("--vae-tiling", action="store_true",
                        help="decode the image in tiles: far less memory for large images, faint seams possible")
    parser.add_argument("--cpu-offload", action="store_true",
                        help="CUDA only: keep only the active model part on the GPU (much less GPU memory, slower)")
    parser.add_argument("--attention-slicing", action="store_true",
                        help="compute attention in slices: less memory (Macs with 8-16 GB), slower; same image")


def load_options_from_args(args: argparse.Namespace) -> Any:
    from aae_desktop.engine.models.loading import LoadOptions

    return LoadOptions(
        device=getattr(args, "device", "auto"),
        precision=getattr(args, "precision", "auto"),
        family=getattr(args, "family", "auto"),
        config_dir=getattr(args, "model_config", None),
        vae_slicing=getattr(args, "vae_slicing", False),
        vae_tiling=getattr(args, "vae_tiling", False),
        cpu_offload=getattr(args, "cpu_offload", False),
        attention_slicing=getattr(args, "attention_slicing", False),
    )
