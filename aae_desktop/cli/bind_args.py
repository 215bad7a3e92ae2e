"""`render --bind`: which modifiers bind to which noun (SynGen, #22), by word, by token index or as suggested.

--bind black+white:dog,red:hat   words, as --tokens names them (several modifiers of a noun joined by +)
--bind auto                      the pairs `tokens` suggests (engine/objectives/binding_words.py)
--bind none                      no binding (the default)
--bind-indices 2+3:5,7:8         token indices; a word split into several tokens is a range, 2-3:5
"""
from __future__ import annotations

import argparse
from aae_desktop.engine.objectives.bind_settings import DEFAULT_BIND_SCALE, BindSettings, Word, bind_problem
from aae_desktop.engine.objectives.binding_words import (
    bind_settings,
    groups_for_words,
    parse_bind_words,
    suggest_from_words,
)
from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.tokens import PromptTokens

AUTO, NONE = "auto", "none"


def add_bind_options(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--bind", metavar="MOD:NOUN[,MOD:NOUN...]|auto|none",
                       help="bind modifiers to their nouns (SynGen), e.g. black+white:dog,red:hat; 'auto' binds the "
                            "pairs `tokens` suggests; without --tokens only binds (no word excited)")
    which.add_argument("--bind-indices", metavar="I[+I...]:J,...",
                       help="bind by token index (see `tokens`), e.g. 2+3:5,7:8; a word of several tokens is a "
                            "range, 2-3:5")
    p.add_argument("--bind-scale", type=float, default=DEFAULT_BIND_SCALE, metavar="F",
                   help=f"binding's step size (default {DEFAULT_BIND_SCALE:g})")
    p.add_argument("--bind-steps", type=int, metavar="N",
                   help="bind the first N steps when no word is excited (default: half the steps)")


def bind_from_args(args: argparse.Namespace, parsed: PromptTokens, warnings: list[str]) -> BindSettings:
    """The binding the flags ask for on `parsed` (the prompt as the engine tokenizes it); BindSettings()
    when none. Raises InvalidRequest (one line naming the flag) for a pair that cannot be."""
    spec = (args.bind or "").strip()
    if args.bind_indices is not None:
        groups = parse_index_groups(args.bind_indices)
        flag = "--bind-indices"
    elif not spec or spec.lower() == NONE:
        return BindSettings()
    elif spec.lower() == AUTO:
        flag = "--bind auto"
        suggested = suggest_from_words(parsed)
        if not suggested:
            if not (args.tokens or args.token_indices or args.no_excite):
                raise InvalidRequest("--bind auto found no modifier before a noun in the prompt; name the pairs, "
                                     "e.g. --bind red:cat.")
            warnings.append("--bind auto found no modifier before a noun in the prompt: nothing is bound.")
            return BindSettings()
        groups = bind_settings(suggested, parsed).groups
    else:
        flag = "--bind"
        try:
            groups = groups_for_words(parsed, parse_bind_words(spec, pair=":"))
        except InvalidRequest as exc:
            raise InvalidRequest(f"--bind: {exc}") from None
    settings = BindSettings(enabled=True, groups=groups, scale=args.bind_scale, prompt_length=parsed.eot_index,
                            steps=args.bind_steps)
    problem = bind_problem(settings, parsed.eot_index)
    if problem:
        raise InvalidRequest(f"{flag}: {problem}")
    return settings


def parse_index_groups(text: str) -> tuple[tuple[tuple[Word, ...], Word], ...]:
    """'2+3:5,7-8:9' -> (((2,), (3,)), (5,)), (((7, 8),), (9,)); one line for anything else."""
    groups = []
    for part in text.split(","):
        if not part.strip():
            continue
        left, sep, noun = part.partition(":")
        try:
            if not sep:
                raise ValueError
            groups.append((tuple(_index_word(m) for m in left.split("+")), _index_word(noun)))
        except ValueError:
            raise InvalidRequest(f"--bind-indices: '{part.strip()}' should look like I:J, I+I:J or I-I:J with token "
                                 "indices (e.g. 2+3:5,7:8; see `tokens`).") from None
    if not groups:
        raise InvalidRequest("--bind-indices names no pair (e.g. 2+3:5,7:8; see `tokens`).")
    return tuple(groups)


def _index_word(text: str) -> Word:
    first, dash, last = text.strip().partition("-")
    start = int(first)
    end = int(last) if dash else start
    if end < start:
        raise ValueError
    return tuple(range(start, end + 1))


def suggestion_line(parsed: PromptTokens) -> str | None:
    """What `tokens` prints: the suggested pairs as a --bind value, or None when there are none."""
    suggested = suggest_from_words(parsed)
    if not suggested:
        return None
    return "suggested --bind: " + ",".join("+".join(b.modifiers) + ":" + b.noun for b in suggested)
