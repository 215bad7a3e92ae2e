"""Composition root: `aae-desktop [SUBCOMMAND ...]` runs the CLI, no subcommand opens the window."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from aae_desktop import __version__


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aae-desktop",
        description="Attend-and-Excite Desktop. Without a subcommand the window opens; "
        "subcommands: render, tokens, gallery, models (see `aae-desktop SUBCOMMAND --help`).",
    )
    parser.add_argument("--version", action="version", version=f"aae-desktop {__version__}")
    parser.add_argument("--model", help="open the window with this model (folder, HF cache id or checkpoint)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from aae_desktop.cli import command_names, run

    if argv and argv[0] in command_names():
        return run(argv)
    args, _unknown_qt_args = _gui_parser().parse_known_args(argv)
    from aae_desktop.ui.launch import run_gui  # Qt is imported only when the window is wanted

    return run_gui(model=args.model)


def gui_main() -> int:
    """Entry point for shortcuts (no console window on Windows)."""
    return main()
