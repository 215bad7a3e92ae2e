"""An unexpected exception is logged and shown in a dialog naming the log file; the app does not vanish."""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest

from aae_desktop.ui import crash_dialog


@pytest.fixture
def restore_hooks():
    saved = sys.excepthook, threading.excepthook
    yield
    sys.excepthook, threading.excepthook = saved


def _raised(exc: BaseException):
    try:
        raise exc
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


def test_dialog_names_the_error_and_the_log_file(qtbot, tmp_path):
    log_path = tmp_path / "logs" / "aae-desktop.log"
    exc_type, exc, tb = _raised(ValueError("bad thing happened\nsecond line"))
    box = crash_dialog.build_crash_dialog(exc, tb, log_path)
    qtbot.addWidget(box)
    assert box.text() == "Something went wrong: ValueError: bad thing happened"
    assert str(log_path) in box.informativeText()
    assert "Traceback" in box.detailedText() and "_raised" in box.detailedText()
    assert "Open log folder" in [button.text() for button in box.buttons()]


def test_uncaught_exception_is_logged_and_shown_once(qapp, restore_hooks, caplog, tmp_path):
    shown = []
    hook = crash_dialog.install_crash_handler(tmp_path / "aae-desktop.log", show=shown.append)
    assert sys.excepthook is hook
    with caplog.at_level(logging.CRITICAL, logger="aae-desktop.crash"):
        sys.excepthook(*_raised(RuntimeError("boom in a slot")))
    assert len(shown) == 1 and "RuntimeError: boom in a slot" in shown[0].text()
    assert any(record.exc_info and "boom in a slot" in str(record.exc_info[1]) for record in caplog.records)
    shown[0].deleteLater()


def test_keyboard_interrupt_goes_to_the_previous_hook(qapp, restore_hooks, tmp_path):
    seen, shown = [], []
    sys.excepthook = lambda *info: seen.append(info[0])
    crash_dialog.install_crash_handler(tmp_path / "x.log", show=shown.append)
    sys.excepthook(*_raised(KeyboardInterrupt()))
    assert seen == [KeyboardInterrupt] and shown == []


def test_errors_in_other_threads_are_logged_not_shown(qapp, restore_hooks, caplog, tmp_path):
    shown = []
    crash_dialog.install_crash_handler(tmp_path / "x.log", show=shown.append)
    with caplog.at_level(logging.CRITICAL, logger="aae-desktop.crash"):
        worker = threading.Thread(target=lambda: 1 / 0, name="loader")
        worker.start()
        worker.join()
    assert shown == []  # widgets may only be touched from the GUI thread
    assert any("loader" in record.getMessage() for record in caplog.records)


def test_startup_failure_still_gets_a_dialog(qapp, tmp_path):
    shown = []
    exc = _raised(ImportError("No module named 'torch'"))[1]
    crash_dialog.show_startup_failure(exc, Path(tmp_path / "aae-desktop.log"), show=shown.append)
    assert "ImportError: No module named 'torch'" in shown[0].text()
    shown[0].deleteLater()


def test_no_display_means_a_line_on_stderr_instead_of_an_abort(monkeypatch, capsys, tmp_path):
    """Creating a QApplication with no display kills the process; the error must still be readable."""
    monkeypatch.setattr(crash_dialog.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(crash_dialog, "can_open_windows", lambda: False)
    shown = []
    crash_dialog.show_startup_failure(_raised(OSError("disk full"))[1], tmp_path / "a.log", show=shown.append)
    assert shown == []
    assert capsys.readouterr().err.strip() == f"aae-desktop: could not start: OSError: disk full (details in {tmp_path / 'a.log'})"


@pytest.mark.parametrize("env, expected", [({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "w"}, True)])
def test_can_open_windows_on_linux_needs_a_display(monkeypatch, env, expected):
    monkeypatch.setattr(crash_dialog.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert crash_dialog.can_open_windows() is expected
