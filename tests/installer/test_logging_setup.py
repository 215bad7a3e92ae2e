"""Logging with no console (a Windows GUI launch): writes land in the rotating log file, never raise."""
from __future__ import annotations

import faulthandler
import logging
import os
import subprocess
import sys
import warnings

import pytest

from aae_desktop import logging_setup


@pytest.fixture
def clean_logging(monkeypatch, tmp_path):
    """Undo everything configure_logging touches: root handlers, warnings capture, faulthandler."""
    monkeypatch.setenv("AAE_DESKTOP_LOG_DIR", str(tmp_path / "logs"))
    # The libraries' own switches are process-wide; other tests may want their progress bars.
    monkeypatch.setattr("aae_desktop.logging_setup.PROGRESS_BAR_MODULES", ())
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    fault_enabled = faulthandler.is_enabled()
    yield tmp_path / "logs"
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    if fault_enabled:
        faulthandler.enable(file=sys.__stderr__)
    else:
        faulthandler.disable()


def _log_text(directory) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (directory / logging_setup.LOG_FILE_NAME).read_text(encoding="utf-8")


def test_without_console_prints_warnings_and_progress_bars_go_to_the_log(clean_logging, monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    path = logging_setup.configure_logging(gui=True)
    assert path == clean_logging / "aae-desktop.log"

    print("hello from a stray print")
    sys.stderr.write("half a line ")
    sys.stderr.write("and the rest\n")
    warnings.warn("a library warning", UserWarning)
    text = _log_text(clean_logging)
    assert "stdout: hello from a stray print" in text
    assert "stderr: half a line and the rest" in text
    assert "a library warning" in text
    assert logging_setup.current_log_file() == path


def test_a_pythonw_style_launch_runs_progress_bars_without_output(tmp_path):
    """A fresh process with no stdout/stderr, as pythonw.exe starts the GUI launcher on Windows."""
    script = (
        "import sys\n"
        "sys.stdout = sys.stderr = None\n"
        "from aae_desktop.logging_setup import configure_logging\n"
        "configure_logging(gui=True)\n"
        "from tqdm import tqdm\n"
        "for _ in tqdm(range(50)): pass\n"
        "print('finished the loop')\n"
    )
    env = {**os.environ, "AAE_DESKTOP_LOG_DIR": str(tmp_path)}
    env.pop("TQDM_DISABLE", None)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    text = (tmp_path / logging_setup.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "finished the loop" in text
    assert "it/s" not in text and "50/50" not in text  # the bar was switched off, not just hidden


def test_gui_mode_switches_progress_bars_off_even_with_a_console(clean_logging):
    logging_setup.configure_logging(gui=True)
    assert os.environ["TQDM_DISABLE"] == "1" and os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert sys.stdout is not None and not isinstance(sys.stdout, logging_setup.LogStream)


def test_calling_twice_keeps_one_file_handler(clean_logging):
    logging_setup.configure_logging()
    logging_setup.configure_logging()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_aae_log_file", False)]
    assert len(ours) == 1


def test_log_rotates_instead_of_growing_forever(clean_logging, monkeypatch):
    monkeypatch.setattr(logging_setup, "MAX_LOG_BYTES", 2_000)
    logging_setup.configure_logging()
    log = logging.getLogger("aae-desktop.test")
    for i in range(200):
        log.warning("line %d %s", i, "x" * 40)
    files = sorted(p.name for p in clean_logging.iterdir())
    assert "aae-desktop.log.1" in files
    assert len(files) <= 1 + logging_setup.LOG_BACKUPS


def test_unwritable_log_dir_falls_back_to_temp(clean_logging, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setattr(logging_setup.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    path = logging_setup.configure_logging(directory=blocker / "logs")
    assert path == tmp_path / "tmp" / "aae-desktop" / "aae-desktop.log"
    logging.getLogger("aae-desktop.test").warning("still logged")
    assert "still logged" in path.read_text(encoding="utf-8")
