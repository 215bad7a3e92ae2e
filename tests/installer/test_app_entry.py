"""The launchers: --version answers without heavy imports, --self-test dispatches, the GUI entry point
logs to a file and turns a failure to start into a dialog instead of vanishing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from aae_desktop import __version__, app


@pytest.fixture
def log_dir(monkeypatch, tmp_path):
    import logging

    monkeypatch.setenv("AAE_DESKTOP_LOG_DIR", str(tmp_path))
    # The libraries' own switches are process-wide; other tests may want their progress bars.
    monkeypatch.setattr("aae_desktop.logging_setup.PROGRESS_BAR_MODULES", ())
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):  # gui_main sets these; undo after
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield tmp_path
    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


def test_version_needs_neither_qt_nor_torch():
    code = ("import sys; from aae_desktop.app import main; rc = main(['--version']); "
            "heavy = [m for m in ('torch', 'PySide6', 'diffusers') if m in sys.modules]; "
            "print(rc, heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == [f"aae-desktop {__version__}", "0 []"]


def test_self_test_flag_runs_the_self_test(monkeypatch, log_dir):
    import aae_desktop.self_test

    monkeypatch.setattr(aae_desktop.self_test, "run_self_test", lambda: 7)
    assert app.main(["--self-test"]) == 7
    assert (log_dir / "aae-desktop.log").exists()


def test_gui_main_shows_a_dialog_when_the_app_cannot_start(monkeypatch, log_dir):
    import aae_desktop.ui.crash_dialog as crash_dialog

    shown = []
    monkeypatch.setattr(app, "main", lambda: (_ for _ in ()).throw(RuntimeError("no display")))
    monkeypatch.setattr(crash_dialog, "show_startup_failure", lambda exc, path: shown.append((str(exc), path)))
    assert app.gui_main() == 1
    assert shown == [("no display", log_dir / "aae-desktop.log")]
