"""Shows an unexpected exception in a dialog that names the log file, so the app never just vanishes.

With no console (a Windows shortcut, a menu entry) an uncaught exception would otherwise print to
nowhere; here it is written to the log with its traceback and the user is told where that log is.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

_log = logging.getLogger("aae-desktop.crash")
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

TITLE = "Attend-and-Excite Desktop: unexpected error"


def crash_text(exc: BaseException) -> str:
    """One line for the dialog: the error's type and first line, never a whole traceback."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Something went wrong: {type(exc).__name__}" + (f": {first_line}" if first_line else "")


def build_crash_dialog(exc: BaseException, tb: TracebackType | None, log_path: Path | None,
                       parent=None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(TITLE)
    box.setText(crash_text(exc))
    where = f"The details were written to the log file:\n{log_path}" if log_path else "No log file was open."
    box.setInformativeText(
        f"{where}\n\nPlease attach it if you report this problem. "
        "You can keep working; if the window misbehaves, restart the app."
    )
    box.setDetailedText("".join(traceback.format_exception(type(exc), exc, tb)))
    if log_path is not None:
        open_folder = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
        # ActionRole buttons close the box too; opening the folder is all they need to do.
        open_folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_path.parent))))
    box.addButton(QMessageBox.StandardButton.Close)
    return box


def _exec_dialog(box: QMessageBox) -> None:
    box.exec()


def install_crash_handler(log_path: Path | None,
                          show: Callable[[QMessageBox], None] = _exec_dialog) -> Callable[..., None]:
    """Route uncaught exceptions to the log and a dialog; returns the hook it installed."""
    previous = sys.excepthook
    showing = threading.Event()  # one dialog at a time: an error inside the dialog must not recurse

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        _log.critical("unexpected error", exc_info=(exc_type, exc, tb))
        on_gui_thread = threading.current_thread() is threading.main_thread()
        if QApplication.instance() is None or not on_gui_thread or showing.is_set():
            return
        showing.set()
        try:
            show(build_crash_dialog(exc, tb, log_path))
        finally:
            showing.clear()

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        # Widgets belong to the GUI thread; from another thread the log is all we can safely do.
        _log.critical("unexpected error in thread %s", getattr(args.thread, "name", "?"),
                      exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = hook
    threading.excepthook = thread_hook
    return hook


def can_open_windows() -> bool:
    """False on a Linux box with no display, where creating a QApplication would abort the process."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def show_startup_failure(exc: BaseException, log_path: Path | None,
                         show: Callable[[QMessageBox], None] = _exec_dialog) -> None:
    """The window never opened: log the error, say it in one line, and still show the dialog."""
    _log.critical("the app failed to start", exc_info=(type(exc), exc, exc.__traceback__))
    if sys.stderr is not None:
        where = f" (details in {log_path})" if log_path else ""
        print(f"aae-desktop: could not start: {crash_text(exc).removeprefix('Something went wrong: ')}{where}",
              file=sys.stderr)
    if QApplication.instance() is None and not can_open_windows():
        return
    _app = QApplication.instance() or QApplication(sys.argv[:1])
    show(build_crash_dialog(exc, exc.__traceback__, log_path))
