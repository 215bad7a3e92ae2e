"""Logging for the app: a rotating log file per user, and a process that survives having no console.

A Windows shortcut starts the GUI launcher with no console: sys.stdout and sys.stderr are None, so
any library that prints (tqdm progress bars, warnings, a stray print) would raise inside the app.
configure_logging() routes all of that into the log file instead, which is also what a user
attaches to a support request.
"""
from __future__ import annotations

import faulthandler
import io
import logging
import logging.handlers
import os
import sys
import tempfile
from pathlib import Path

from aae_desktop import user_dirs

APP_NAME = user_dirs.APP_NAME
LOG_FILE_NAME = "aae-desktop.log"
MAX_LOG_BYTES = 1_000_000
LOG_BACKUPS = 3  # aae-desktop.log.1 .. .3: enough history for "it crashed yesterday"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# Libraries with a process-wide "progress bars off" switch, used when they were imported first.
PROGRESS_BAR_MODULES = ("diffusers.utils.logging", "transformers.utils.logging", "huggingface_hub.utils")

_fault_file = None  # kept open for faulthandler, which writes from a signal handler


def log_dir() -> Path:
    """platformdirs' user log dir; AAE_DESKTOP_LOG_DIR overrides it (tests, portable installs)."""
    return user_dirs.log_dir()


def has_console() -> bool:
    return sys.stdout is not None and sys.stderr is not None


class LogStream(io.TextIOBase):
    """Stands in for a missing stdout/stderr: whole lines go to a logger, nothing reaches a console."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        super().__init__()
        self._logger, self._level, self._pending = logger, level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            # Progress bars redraw with "\r"; only the last state of a line is worth keeping.
            line = line.rsplit("\r", 1)[-1].rstrip()
            if line:
                self._logger.log(self._level, line)
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self._logger.log(self._level, self._pending.rsplit("\r", 1)[-1].rstrip())
        self._pending = ""

    def isatty(self) -> bool:
        return False


def silence_progress_bars() -> None:
    """Turn off tqdm bars (diffusers, transformers, huggingface_hub): in a GUI nobody sees them."""
    # Environment switches work for libraries not imported yet; the calls below cover those that are.
    os.environ["TQDM_DISABLE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    for module_name in PROGRESS_BAR_MODULES:
        module = sys.modules.get(module_name)
        disable = getattr(module, "disable_progress_bars", None) or getattr(module, "disable_progress_bar", None)
        if disable is not None:
            disable()


def _open_log_handler(directory: Path) -> tuple[logging.Handler, Path]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOG_FILE_NAME
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        # A read-only or full profile must not stop the app from starting: log to the temp folder.
        fallback = Path(tempfile.gettempdir()) / APP_NAME
        fallback.mkdir(parents=True, exist_ok=True)
        path = fallback / LOG_FILE_NAME
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler._aae_log_file = True  # marks our handler so a second call replaces it instead of doubling
    return handler, path


def configure_logging(*, gui: bool = False, level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Send logs to the rotating file and return its path.

    gui=True also turns progress bars off. With no stdout/stderr, those streams are replaced by
    LogStream so writes land in the log, and Python warnings and hard crashes go there too.
    """
    global _fault_file
    handler, path = _open_log_handler(directory or log_dir())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_aae_log_file", False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)

    if gui or not has_console():
        silence_progress_bars()
    if not has_console():
        if sys.stdout is None:
            sys.stdout = LogStream(logging.getLogger("stdout"), logging.INFO)
        if sys.stderr is None:
            sys.stderr = LogStream(logging.getLogger("stderr"), logging.WARNING)
        logging.captureWarnings(True)
        try:
            if _fault_file is not None:
                _fault_file.close()
            _fault_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this call
            faulthandler.enable(file=_fault_file)
        except OSError:
            pass
    logging.getLogger(APP_NAME).info("logging to %s", path)
    return path


def current_log_file() -> Path | None:
    """The file configure_logging() writes to, if it was called."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_aae_log_file", False):
            return Path(handler.baseFilename)
    return None
