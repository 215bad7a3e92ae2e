"""Starts the desktop app: QApplication, settings, main window. torch/diffusers load later, in the worker."""
from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from aae_desktop.resources_path import resource
from aae_desktop.settings import SettingsStore


def app_icon() -> QIcon:
    icon = QIcon()
    folder = resource("icons")
    for path in sorted(folder.glob("*.png")) if folder.is_dir() else ():
        icon.addFile(str(path))
    svg = folder / "aae-desktop.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


def _install_gallery(window) -> None:
    if not window.isVisible():  # closed before the event loop got here
        return
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    install_gallery(window)  # gallery panel + A/B, seed sweep and heat map tabs; autosave


def quit_on_signals(window) -> list[int]:
    """Ctrl-C in the terminal (SIGINT) or a SIGTERM closes the window as its close button would (the
    run is cancelled, finished images and the settings are saved) and ends the app.

    Python runs a signal handler only when it next executes Python code, and Qt's event loop runs in
    C++: a timer that does nothing gives it that chance a few times a second. Without a handler,
    Python would raise KeyboardInterrupt inside whatever callback happened to run (a traceback from
    an event filter) and the window would stay open. Returns the signals received.
    """
    received: list[int] = []

    def handler(signum, _frame) -> None:
        received.append(signum)
        QTimer.singleShot(0, lambda: (window.close(), QApplication.quit()))

    for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if signum is not None:
            signal.signal(signum, handler)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    return received


def run_gui(model: str | None = None, store: SettingsStore | None = None) -> int:
    """Show the main window (optionally loading `model`) and run the event loop until it closes."""
    from aae_desktop.ui.main_window import MainWindow
    from aae_desktop.ui.style import apply_style

    app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setApplicationName("aae-desktop")
    QApplication.setApplicationDisplayName("Attend-and-Excite Desktop")
    # Lets Wayland/X11 docks match the window to the installed aae-desktop.desktop entry.
    QApplication.setDesktopFileName("aae-desktop")
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    apply_style(app)
    window = MainWindow(store or SettingsStore())
    window.show()
    # The gallery (numpy, the index) costs about a second to import and build: show the window
    # first so it appears within the ~2 s budget, and slot the gallery in on the first loop pass.
    QTimer.singleShot(0, lambda: _install_gallery(window))
    if model:
        window.request_model_load(model)
    from aae_desktop.ui.models.model_controls import install_model_controls_soon

    # Checkpoint / cache / download / recent, device options; first-run choice when no model was ever chosen.
    install_model_controls_soon(window, offer_first_run=not model)
    stopped_by = quit_on_signals(window)
    code = app.exec()
    return 128 + stopped_by[0] if stopped_by else code  # the shell's convention: 130 for Ctrl-C
