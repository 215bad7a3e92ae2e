"""Fault-injection fixtures: an empty HOME with its own XDG folders, the CLI in-process or as a real process.

Every test here runs as a new user would: no AAE_DESKTOP_* overrides, so the app finds its settings,
index and pictures folder through platformdirs inside the temporary HOME.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The window's fixtures (fake engine, MainWindow factory, thread-leak guard) are the UI tests' own.
from tests.ui.conftest import FakeEngine, fake_engine, make_window, no_dangling_qthreads, settings_store  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "a cat and a frog"
# 64 px, two steps, one excite step and one refinement round: every code path, a fraction of a second.
QUICK = ["--steps", "2", "--width", "64", "--height", "64", "--max-iter-to-alter", "1", "--thresholds", "0:0.05",
         "--refinement-cap", "1"]


@dataclass(frozen=True)
class Home:
    """Where an isolated user's app files live (what platformdirs answers inside it)."""

    home: Path
    config: Path  # settings.json
    data: Path  # gallery.sqlite3
    pictures: Path  # the default gallery folder

    @property
    def settings(self) -> Path:
        return self.config / "settings.json"

    @property
    def index(self) -> Path:
        return self.data / "gallery.sqlite3"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Home:
    root = tmp_path / "home"
    folders = {
        "XDG_CONFIG_HOME": root / ".config",
        "XDG_DATA_HOME": root / ".local" / "share",
        "XDG_CACHE_HOME": root / ".cache",
        "XDG_STATE_HOME": root / ".local" / "state",
    }
    root.mkdir()
    monkeypatch.setenv("HOME", str(root))
    for name, folder in folders.items():
        monkeypatch.setenv(name, str(folder))
    for name in ("AAE_DESKTOP_GALLERY_DIR", "AAE_DESKTOP_DATA_DIR", "AAE_DESKTOP_CACHE_DIR", "AAE_DESKTOP_CONFIG",
                 "XDG_PICTURES_DIR"):
        monkeypatch.delenv(name, raising=False)
    from platformdirs import user_pictures_dir

    return Home(root, folders["XDG_CONFIG_HOME"] / "aae-desktop", folders["XDG_DATA_HOME"] / "aae-desktop",
                Path(user_pictures_dir()) / "Attend-and-Excite")


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip() and not _is_progress(line)]


def _is_progress(line: str) -> bool:
    return "step/s" in line or "step]" in line or "%|" in line


@pytest.fixture
def cli(capsys):
    """Run the CLI in this process (fast; same dispatcher as the console script)."""
    from aae_desktop.cli import run

    def call(*args: str) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return call


def cli_process(*args: str, **kwargs) -> subprocess.Popen:
    """The CLI as a real process (for signals, and for what only a fresh interpreter shows)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **kwargs.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "aae_desktop", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def assert_one_line(result: CliResult, code: int, *fragments: str) -> str:
    """Exit `code`, one clear line on stderr containing every fragment, no traceback."""
    assert "Traceback" not in result.err, result.err
    lines = result.err_lines
    assert result.code == code, (result.code, result.err)
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def pngs_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.png") if not p.name.startswith("."))


@pytest.fixture
def no_model_load(monkeypatch):
    """Fails the test if anything loads a model: the input must be refused before that work."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("the model was loaded although the input should have been refused first")

    monkeypatch.setattr("aae_desktop.engine.models.loading.load_model", refuse)
