"""`aae-desktop render`: one request from the command line, PNGs with the request embedded."""
from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path
from typing import Any

from aae_desktop.engine.errors import InvalidRequest, worded
from aae_desktop.engine.request import SCHEDULERS, ExciteSettings, GenerationRequest, parse_thresholds
from aae_desktop.engine.tokens import parse_index_list

# How the CLI names request fields in error messages (InvalidRequest.message_for): by their flags.
FLAG_NAMES = {
    "prompt": "--prompt",
    "seed": "--seed",
    "num_images": "--num-images",
    "steps": "--steps",
    "guidance_scale": "--guidance",
    "width": "--width",
    "height": "--height",
    "size": "--width/--height",
    "scheduler": "--scheduler",
    "clip_skip": "--clip-skip",
    "eta": "--eta",
    "excite.token_indices": "--tokens/--token-indices",
    "excite.max_iter_to_alter": "--max-iter-to-alter",
    "excite.thresholds": "--thresholds",
    "excite.scale_factor": "--scale-factor",
    "excite.sigma": "--sigma",
    "excite.max_refinement_steps": "--refinement-cap",
    "excite.attn_res": "--attn-res",
    "loras": "--lora",
    "embeddings": "--embeddings-dir",
    "bind": "--bind",
    "boxes": "--box",
}


def register(sub: Any) -> None:
    p = sub.add_parser("render", help="render an image headlessly",
                       description="Render with Attend-and-Excite; output paths are printed on stdout.")
    p.add_argument("--model", required=True, help="diffusers model folder, HF cache repo id or checkpoint file")
    p.add_argument("--prompt", required=True)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--tokens", help="words to excite, comma-separated (e.g. cat,frog)")
    which.add_argument("--token-indices", help="token indices to excite, comma-separated (see `tokens`)")
    p.add_argument("--out", help="output PNG; with --num-images N, FILE-0.png ... FILE-(N-1).png "
                                 "(optional with --gallery); an existing file is kept and the new one "
                                 "gets -2, -3, ... unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace existing --out files")
    p.add_argument("--negative", default="", help="negative prompt")
    p.add_argument("--seed", type=int, help="random seed (default: a random one, stored in the PNG)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--guidance", type=float, help="guidance scale (default: the model family's, 7.5 for "
                                                    "SD 1.x/2.x, 5.0 for SDXL)")
    p.add_argument("--width", type=int, help="image width in pixels (default: the model family's, 512 for SD 1.x, "
                                             "768 for SD 2.x 768 px, 1024 for SDXL)")
    p.add_argument("--height", type=int, help="image height in pixels (default: the model family's)")
    p.add_argument("--max-iter-to-alter", type=int, metavar="N",
                   help="excite the first N steps (default: the paper's share, 25 of 50 -- half the steps)")
    p.add_argument("--thresholds", metavar="STEP:VALUE,...",
                   help="refine at these steps until each word reaches VALUE, or 'none' (default: the paper's "
                        "0:0.05,10:0.5,20:0.8 of 50 steps, scaled to --steps)")
    p.add_argument("--scale-factor", type=float, default=20.0)
    p.add_argument("--attn-res", help="attention map size read by the loss: N or HxW (default: from the size)")
    p.add_argument("--no-smoothing", action="store_true", help="don't Gaussian-smooth the attention maps")
    p.add_argument("--sigma", type=float, default=0.5, help="Gaussian smoothing sigma")
    p.add_argument("--refinement-cap", type=int, default=20, help="max iterative-refinement updates per step")
    p.add_argument("--scheduler", default="default", choices=sorted(SCHEDULERS))
    p.add_argument("--clip-skip", type=int, default=1, metavar="N",
                   help="condition on the text encoder's N-th layer from the end, as A1111's Clip skip "
                        "(1 = none, the default; 2 = the layer before the last)")
    p.add_argument("--eta", type=float, metavar="F",
                   help="share of fresh noise per step for ddim and euler_a, 0-1 (default: the sampler's own, "
                        "0 for ddim, 1 for euler_a)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp16", "bf16", "fp32"])
    p.add_argument("--num-images", type=int, default=1)
    p.add_argument("--no-excite", action="store_true", help="plain Stable Diffusion with the same seed and settings")
    from aae_desktop.cli.bind_args import add_bind_options

    add_bind_options(p)  # --bind, --bind-indices, --bind-scale, --bind-steps
    from aae_desktop.cli.box_args import add_box_options

    add_box_options(p)  # --box, --box-scale, --box-steps
    p.add_argument("--lora", action="append", default=[], metavar="NAME[:WEIGHT]",
                   help="use a LoRA from the LoRA folder (repeatable; weight 1 if left out); the same as "
                        "<lora:NAME:WEIGHT> in the prompt, which is added to the prompt saved in the PNG")
    from aae_desktop.cli.addons import add_folder_options

    add_folder_options(p)  # --lora-dir, --embeddings-dir
    from aae_desktop.cli.gallery import add_gallery_option

    add_gallery_option(p)  # --gallery [DIR]
    from aae_desktop.cli.models import add_load_arguments

    add_load_arguments(p)  # --family, --model-config, --vae-slicing, --vae-tiling, --cpu-offload
    p.set_defaults(handler=run_render)


def parse_attn_res(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    parts = text.lower().split("x")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise InvalidRequest(f"--attn-res should be N or HxW (got '{text}').") from None
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise InvalidRequest(f"--attn-res should be N or HxW (got '{text}').")


def output_paths(out: str, count: int) -> list[Path]:
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise InvalidRequest(f"--out must name a .png file (got '{out}').")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(count)]


def build_request(args: argparse.Namespace, tokenizer: Any,
                  family: str | None = None) -> tuple[GenerationRequest, list[str]]:
    """The request the flags describe; size and guidance the user left out come from `family`'s defaults."""
    from aae_desktop.engine.models.families import DEFAULT_FAMILY, get_family

    spec = get_family(family or DEFAULT_FAMILY)
    from aae_desktop.cli.addons import folders_from_args
    from aae_desktop.engine.addons.addon_refs import resolve_addons
    from aae_desktop.engine.tokens import tokenize_request

    # LoRA tags and embedding words are resolved first: the words to excite are counted with the
    # embeddings' vectors, as the engine will see them.
    addons = resolve_addons(GenerationRequest(model=args.model, prompt=args.prompt, negative_prompt=args.negative),
                            folders_from_args(args), [parse_lora_flag(text) for text in args.lora])
    from aae_desktop.cli.bind_args import bind_from_args
    from aae_desktop.cli.box_args import boxes_from_args

    parsed = tokenize_request(tokenizer, addons)
    notes: list[str] = []
    bind = bind_from_args(args, parsed, notes)
    boxes = boxes_from_args(args, parsed)
    indices: tuple[int, ...] = ()
    if args.tokens:
        indices = tuple(parsed.indices_for_words(args.tokens.split(",")))
    elif args.token_indices:
        indices = tuple(parse_index_list(args.token_indices))
    elif not args.no_excite and not bind.active and not boxes.active:
        raise InvalidRequest("Name the words to excite with --tokens (or --token-indices), bind words with --bind, "
                             "place them with --box, or pass --no-excite.")
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    request = GenerationRequest(
        model=args.model,
        prompt=addons.prompt,
        negative_prompt=args.negative,
        loras=addons.loras,
        embeddings=addons.embeddings,
        seed=seed,
        num_images=args.num_images,
        steps=args.steps,
        guidance_scale=spec.default_guidance if args.guidance is None else args.guidance,
        width=spec.default_width if args.width is None else args.width,
        height=spec.default_height if args.height is None else args.height,
        scheduler=args.scheduler,
        clip_skip=args.clip_skip,
        eta=args.eta,
        excite=ExciteSettings(
            enabled=not args.no_excite,
            token_indices=indices,
            max_iter_to_alter=args.max_iter_to_alter,  # None: follows --steps (engine/run/schedule.py)
            thresholds=None if args.thresholds is None else parse_thresholds(args.thresholds),
            scale_factor=args.scale_factor,
            smooth_attentions=not args.no_smoothing,
            sigma=args.sigma,
            max_refinement_steps=args.refinement_cap,
            attn_res=parse_attn_res(args.attn_res),
        ),
        # With exciting on and no word named, the request binds and/or places alone (as the window's);
        # --no-excite keeps pairs and boxes, checked, but switched off: plain Stable Diffusion.
        bind=dataclasses.replace(bind, enabled=bind.active and not args.no_excite),
        boxes=dataclasses.replace(boxes, enabled=boxes.active and not args.no_excite),
    )
    return request, notes + request.validate(tokenizer)


def parse_lora_flag(text: str) -> tuple[str, float]:
    """--lora NAME or NAME:WEIGHT."""
    import math

    name, colon, weight = text.rpartition(":")
    if not colon:
        name, weight = text, "1"
    try:
        value = float(weight)
    except ValueError:
        raise InvalidRequest(f"--lora {text}: the weight after ':' must be a number, e.g. --lora {name}:0.8.") from None
    if not name.strip() or not math.isfinite(value):
        raise InvalidRequest(f"--lora {text}: write NAME or NAME:WEIGHT, e.g. --lora watercolor:0.8.")
    return name.strip(), value


def source_family(model: str) -> str | None:
    """The family a model's files say they are (folder configs, checkpoint keys, cache), without loading it."""
    from aae_desktop.engine.models.model_info import describe_source

    return describe_source(model).family or None


def model_tokenizer(model: str) -> Any:
    """The tokenizer of what --model names (its folder's, its family's, its cache snapshot's), read
    without loading the model; ModelLoadError, as the load would give, for a source that is not there."""
    from aae_desktop.engine.errors import ModelLoadError
    from aae_desktop.engine.models.hf_cache import looks_like_repo_id, resolve_cached_repo
    from aae_desktop.engine.models.single_file import family_tokenizer, inspect_checkpoint, is_checkpoint_file
    from aae_desktop.engine.tokens import load_tokenizer

    text = str(model).strip()
    path = Path(text).expanduser()
    if path.is_file() and path.name == "model_index.json":
        path = path.parent
    if path.is_dir():
        from aae_desktop.engine.models.unsupported import check_folder_supported

        check_folder_supported(path)  # the same sentence the load would give, before anything runs
        if not (path / "model_index.json").is_file():
            raise ModelLoadError(f"{path} is not a diffusers model folder (model_index.json is missing).")
        folder = path / "tokenizer"
        return load_tokenizer(folder if folder.is_dir() else None)
    if path.is_file():
        if not is_checkpoint_file(path):
            raise ModelLoadError(f"{path.name} is not a model: choose a diffusers folder or a .safetensors / .ckpt "
                                 "checkpoint.")
        info = inspect_checkpoint(path, standard_widths=False)
        # SD 2.x 512 and 768 share one tokenizer: the undecided family does not matter for indices.
        return family_tokenizer(info.family or "sd2")
    if looks_like_repo_id(text):
        folder = resolve_cached_repo(text).snapshot / "tokenizer"
        return load_tokenizer(folder if folder.is_dir() else None)
    raise ModelLoadError(
        f"Model not found: {text} (not a folder, not a checkpoint file, not a model in the Hugging Face cache)."
    )


def run_render(args: argparse.Namespace) -> int:
    from aae_desktop.cli.progress import ProgressBar, echo

    # Everything the user typed is checked before the (slow) model load, with the defaults of the
    # family the model's files say it is; the loaded model has the last word (below).
    family = source_family(args.model)
    request, warnings = build_request(args, model_tokenizer(args.model), family)
    from aae_desktop.engine.addons.addon_refs import check_families

    check_families(request, family)  # a LoRA for another family is refused before the slow load
    from aae_desktop.cli.gallery import check_gallery_option

    if not args.out and args.gallery is None:
        raise InvalidRequest("Say where the images go: --out FILE.png and/or --gallery [DIR].")
    check_gallery_option(args.gallery)
    paths = output_paths(args.out, request.num_images) if args.out else []
    if paths:
        check_out_folder(paths[0].parent)
    for warning in warnings:
        print(f"aae-desktop: warning: {worded(warning, FLAG_NAMES)}", file=sys.stderr)

    from aae_desktop.cli.interrupts import stop_on_signals
    from aae_desktop.cli.models import load_options_from_args
    from aae_desktop.cli.render_output import RenderOutput
    from aae_desktop.engine.errors import GenerationCancelled
    from aae_desktop.engine.run.generate import generate
    from aae_desktop.engine.models.loading import load_model

    options = load_options_from_args(args)
    if options.vae_slicing:
        echo("aae-desktop: warning: --vae-slicing has no effect (images are decoded one at a time); "
             "for large images use --vae-tiling", err=True)
    model = load_model(args.model, options)
    for note in model.notes:
        echo(f"aae-desktop: note: {note}", err=True)
    if model.family != family:  # e.g. an SD 2.x file whose 512/768 kind only the load settled
        request = build_request(args, model.pipe.tokenizer, model.family)[0].replace(seed=request.seed)
    from aae_desktop.cli.box_args import check_box_grid

    check_box_grid(request, model)  # the loss grid is the loaded UNet's: checked before the first step
    from aae_desktop.engine.run.cpu_time_estimate import slow_cpu_render_note

    slow = slow_cpu_render_note(request, model.device, smaller="a smaller --width/--height")
    if slow:  # hours on the CPU: said before the first step, not discovered from a bar that barely moves
        echo(f"aae-desktop: warning: {slow}", err=True)
    with ProgressBar(request) as bar, stop_on_signals() as stop:
        output = RenderOutput(model, paths, args.gallery, overwrite=args.overwrite, say=echo)
        try:
            # Each image is saved (and its path printed) as soon as it is decoded.
            generate(model, request, on_step=bar.update, cancel=stop.event, preview_every=0, on_image=output)
        except GenerationCancelled:
            done = output.finished
            kept = "the finished ones are saved (paths above)" if done else "nothing was finished"
            echo(f"aae-desktop: stopped after {done} of {request.num_images} image"
                 f"{'s' if request.num_images != 1 else ''}; {kept}.", err=True)
            return stop.exit_code
    if args.seed is None:
        print(f"aae-desktop: seed {request.seed} (random)", file=sys.stderr)
    return 1 if output.rescued else 0


def check_out_folder(folder: Path) -> None:
    """The --out folder must exist and take files: found now, not after the render."""
    from aae_desktop.gallery.png_files import FolderUnusable, check_folder_writable

    if not folder.is_dir():
        raise InvalidRequest(f"The output folder does not exist: {folder}")
    try:
        check_folder_writable(folder)
    except FolderUnusable as exc:
        raise InvalidRequest(f"--out: {exc}.") from None
