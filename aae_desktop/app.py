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
    parser.add_argument("--self-test", action="store_true",
                        help="open the window offscreen, render with a tiny built-in model, close; exit 0 if all works")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before any other import: it must work even when those are broken
        print(f"aae-desktop {__version__}")
        return 0
    from aae_desktop.cli import command_names, run

    if argv and argv[0] in command_names():
        return run(argv)
    args, _unknown_qt_args = _gui_parser().parse_known_args(argv)
    from aae_desktop.logging_setup import configure_logging

    log_path = configure_logging()
    if args.self_test:
        from aae_desktop.self_test import run_self_test

        return run_self_test()
    from aae_desktop.ui.display_check import display_problem

    problem = display_problem()  # Qt would abort the process with its own message instead
    if problem:
        print(f"aae-desktop: {problem}", file=sys.stderr)
        return 1
    from aae_desktop.ui.crash_dialog import install_crash_handler
    from aae_desktop.ui.launch import run_gui  # Qt is imported only when the window is wanted

    install_crash_handler(log_path)
    return run_gui(model=args.model)


def gui_main() -> int:
    """Entry point for shortcuts (no console window on Windows): logs go to a file, a failure to start
    shows a dialog naming that file instead of the app silently vanishing."""
    from aae_desktop.logging_setup import configure_logging

    log_path = configure_logging(gui=True)
    try:
        return main()
    except Exception as exc:
        from aae_desktop.ui.crash_dialog import show_startup_failure

        show_startup_failure(exc, log_path)
        return 1
