"""The freedesktop menu entry: required keys, Exec quoting for odd install paths, desktop-file-validate."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "resources" / "aae-desktop.desktop"
WRITER = REPO / "installer" / "linux" / "write_desktop_entry.sh"


def read_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def unescape_exec(value: str) -> list[str]:
    """Undo both escaping levels of the Desktop Entry spec: the string value, then Exec's quoting."""
    string = re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), value)
    args, current, quoted, i = [], "", False, 0
    while i < len(string):
        ch = string[i]
        if quoted and ch == "\\":
            current += string[i + 1]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "%":
            assert string[i + 1] == "%", "a lone % would be read as a field code"
            current += "%"
            i += 1
        elif ch == " " and not quoted:
            args.append(current)
            current = ""
        else:
            current += ch
        i += 1
    return args + [current]


def write_entry(tmp_path: Path, launcher: str) -> Path:
    out = tmp_path / "applications" / "aae-desktop.desktop"
    subprocess.run(["bash", str(WRITER), str(TEMPLATE), launcher, str(out)], check=True, timeout=30)
    return out


def test_template_has_the_keys_a_menu_needs():
    entry = read_entry(TEMPLATE)
    assert entry["Type"] == "Application"
    for key in ("Name", "GenericName", "Comment"):
        assert entry[key].strip(), key
    assert entry["Exec"] == "@EXEC@"
    assert entry["Icon"] == "aae-desktop"
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "Graphics;2DGraphics;RasterGraphics;"
    assert entry["StartupWMClass"] == "aae-desktop"


def test_startup_wm_class_matches_the_apps_desktop_file_name():
    """The taskbar groups the window under the menu entry only when these two names agree."""
    calls = [
        m.group(1)
        for source in (REPO / "aae_desktop").rglob("*.py")
        for m in re.finditer(r"setDesktopFileName\(\s*[\"']([^\"']+)[\"']", source.read_text(encoding="utf-8"))
    ]
    if not calls:
        pytest.skip("the app does not call QApplication.setDesktopFileName yet")
    assert set(calls) == {read_entry(TEMPLATE)["StartupWMClass"]}


@pytest.mark.parametrize("folder", ["plain", "with space", "odd $HOME `x` \"q\" back\\slash 100% & more"])
def test_exec_line_round_trips_any_install_path(tmp_path, folder):
    launcher = str(tmp_path / folder / "venv" / "bin" / "aae-desktop-gui")
    entry = read_entry(write_entry(tmp_path, launcher))
    assert unescape_exec(entry["Exec"]) == [launcher]
    assert entry["Name"] == read_entry(TEMPLATE)["Name"]


def test_writer_refuses_a_template_without_the_placeholder(tmp_path):
    bad = tmp_path / "bad.desktop"
    bad.write_text("[Desktop Entry]\nExec=/usr/bin/true\n", encoding="utf-8")
    result = subprocess.run(["bash", str(WRITER), str(bad), "/x", str(tmp_path / "out.desktop")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "no @EXEC@ placeholder" in result.stderr
    assert not (tmp_path / "out.desktop").exists()


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate not installed (Debian package desktop-file-utils)")
@pytest.mark.parametrize("folder", ["plain", "with space & 100% $odd"])
def test_written_entry_passes_desktop_file_validate(tmp_path, folder):
    out = write_entry(tmp_path, str(tmp_path / folder / "aae-desktop-gui"))
    result = subprocess.run(["desktop-file-validate", str(out)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()
