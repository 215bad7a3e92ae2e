"""Headless commands (render, tokens, ...) on the same engine as the window.

Each subcommand lives in its own module exposing `register(subparsers)`; the parser calls the
function stored as `handler` with the parsed args. User mistakes exit 2 with one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from aae_desktop import __version__
from aae_desktop.cli.usage import UsageError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits 2; we want one clear line
        raise UsageError(message)


def subcommand_modules():
    from aae_desktop.cli import render, tokens

    modules = [render, tokens]
    for optional in ("gallery", "models", "addons"):
        try:
            modules.append(__import__(f"aae_desktop.cli.{optional}", fromlist=["register"]))
        except ImportError:
            pass
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aae-desktop", description="Attend-and-Excite Desktop")
    parser.add_argument("--version", action="version", version=f"aae-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for module in subcommand_modules():
        module.register(sub)
    return parser


def command_names() -> set[str]:
    """Subcommand names: a module's name, or the names it lists in COMMANDS when it registers several."""
    names: set[str] = set()
    for module in subcommand_modules():
        names.update(getattr(module, "COMMANDS", (module.__name__.rsplit(".", 1)[1],)))
    return names


def _quiet_libraries() -> None:
    """Library chatter (load bars, advisory warnings) would bury our one-line messages."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def run(argv: Sequence[str]) -> int:
    """Run a subcommand; return the process exit code."""
    _quiet_libraries()
    from aae_desktop.engine.errors import EngineError, GenerationCancelled, InvalidRequest, ModelLoadError

    try:
        args = build_parser().parse_args(list(argv))
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"aae-desktop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidRequest as exc:
        from aae_desktop.cli.render import FLAG_NAMES

        print(f"aae-desktop: error: {exc.message_for(FLAG_NAMES)}", file=sys.stderr)
        return EXIT_USAGE
    except ModelLoadError as exc:
        print(f"aae-desktop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GenerationCancelled:
        print("aae-desktop: cancelled", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`aae-desktop gallery list | head`): stop quietly, as Unix tools do.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("aae-desktop: interrupted", file=sys.stderr)
        return 130
    except EngineError as exc:
        from aae_desktop.engine.errors import OutOfMemory

        if isinstance(exc, OutOfMemory):
            from aae_desktop.cli.models import MEMORY_FLAGS

            exc = exc.describe(MEMORY_FLAGS)
        print(f"aae-desktop: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
