"""`render --box`: which word goes in which part of the image (BoxDiff, #23).

--box cat:0,0.3,0.5,1 --box frog:0.5,0.3,1,1   one flag per word, corners x0,y0,x1,y1 in 0-1 from the top left
--box-scale 20                                  the step size when no word is excited (the pipeline's 20)
--box-steps N                                   update the first N steps when no word is excited

Words are named as --tokens names them (gallery/box_words.py). Everything but the attention grid is
checked before the model loads; the grid is the UNet's, so check_box_grid runs once it is loaded.
"""
from __future__ import annotations

import argparse
from typing import Any

from aae_desktop.engine.objectives.box_settings import DEFAULT_BOX_SCALE, BoxSettings, box_grid_problem, box_problem
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import PromptTokens
from aae_desktop.gallery.box_words import EXAMPLE, boxes_for_words, parse_box_item


def add_box_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--box", action="append", default=[], metavar="WORD:x0,y0,x1,y1",
                   help=f"keep a word inside a box (BoxDiff), corners in 0-1 from the top left, e.g. {EXAMPLE}; "
                        "repeat for each word; without --tokens only places (no word excited)")
    p.add_argument("--box-scale", type=float, default=DEFAULT_BOX_SCALE, metavar="F",
                   help=f"the boxes' step size (default {DEFAULT_BOX_SCALE:g})")
    p.add_argument("--box-steps", type=int, metavar="N",
                   help="place during the first N steps when no word is excited (default: half the steps)")


def boxes_from_args(args: argparse.Namespace, parsed: PromptTokens) -> BoxSettings:
    """The boxes the flags ask for on `parsed` (the prompt as the engine tokenizes it); BoxSettings()
    when none. Raises InvalidRequest, one line naming the flag, for a box that cannot be."""
    if not args.box:
        return BoxSettings()
    for flag, alone in (("--box-scale", BoxSettings(True, scale=args.box_scale)),
                        ("--box-steps", BoxSettings(True, steps=args.box_steps))):
        if problem := box_problem(alone, parsed.eot_index):
            raise InvalidRequest(f"{flag}: {problem}")
    items = []
    for text in args.box:
        try:
            items.append(parse_box_item(text))
        except InvalidRequest as exc:
            raise InvalidRequest(f"--box: {exc}") from None
    try:
        boxes = boxes_for_words(parsed, items)
    except InvalidRequest as exc:
        raise InvalidRequest(f"--box: {exc}") from None
    for (name, _box), boxed in zip(items, boxes):
        if problem := box_problem(BoxSettings(True, (boxed,), prompt_length=parsed.eot_index), parsed.eot_index):
            raise InvalidRequest(f"--box {name}: {_named(problem, boxed[0], name)}")
    return BoxSettings(enabled=True, boxes=boxes, scale=args.box_scale, prompt_length=parsed.eot_index,
                       steps=args.box_steps)


def check_box_grid(request: Any, model: Any) -> None:
    """Refuse, before the run, a box that covers no cell of the grid the loss reads at this size
    (the same grid and check as the engine's), naming the word and a box size and image size that work."""
    if not request.boxes.active:
        return
    from aae_desktop.engine.run.attention import default_loss_grid
    from aae_desktop.engine.tokens import tokenize_request

    pipe, loss_level = model.pipe, model.family_spec.loss_level
    names = {w.token_indices: w.text for w in tokenize_request(pipe.tokenizer, request).words}

    def grid_at(width: int, height: int) -> tuple[int, int]:
        return request.excite.attn_res or default_loss_grid(pipe.unet, height // pipe.vae_scale_factor,
                                                            width // pipe.vae_scale_factor, loss_level)

    for boxed in request.boxes.boxes:
        single = BoxSettings(True, (boxed,), prompt_length=request.boxes.prompt_length)
        problem = box_grid_problem(single, grid_at(request.width, request.height))
        if not problem:
            continue
        name = names.get(boxed[0], "")
        text = f"--box {name}: {_named(problem, boxed[0], name)}" if name else f"--box: {problem}"
        size = None if request.excite.attn_res else _size_that_works(single, request.width, request.height, grid_at)
        if size:
            text = text.rstrip(".") + f", or render at {size[0]} x {size[1]}."
        raise InvalidRequest(text)


def _size_that_works(single: BoxSettings, width: int, height: int, grid_at: Any) -> tuple[int, int] | None:
    """The smallest image of the same shape, in steps of 64 px on the longer side up to 4 times, whose
    grid gives the box a cell; None when none does (a larger image of this shape does not help)."""
    from aae_desktop.engine.request import MAX_SIDE

    longest = max(width, height)
    for side in range(longest + 64 - longest % 64, min(4 * longest, MAX_SIDE) + 1, 64):
        w, h = (max(64, round(v * side / longest / 8) * 8) for v in (width, height))
        if box_grid_problem(single, grid_at(w, h)) is None:
            return w, h
    return None


def _named(problem: str, word: tuple[int, ...], name: str) -> str:
    """The engine's sentence with the word's name for its token indices ('The box of tokens [3]' ->
    "The box of 'cat'"); unchanged should the engine word it otherwise."""
    return problem.replace(f"The box of tokens {list(word)}", f"The box of '{name}'")
