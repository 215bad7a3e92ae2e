"""Installer scripts: they parse (bash, zsh, PowerShell where a parser exists), are executable, and
refuse bad options with one clear line before touching anything."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
SHELL_SCRIPTS = sorted(INSTALLER.glob("linux/*.sh")) + sorted(INSTALLER.glob("macos/*.command"))
POWERSHELL_SCRIPTS = sorted(INSTALLER.glob("windows/*.ps1"))


def test_every_platform_has_an_installer_and_an_uninstaller():
    for path in ("linux/install.sh", "linux/uninstall.sh", "windows/install.ps1", "windows/install.bat",
                 "windows/uninstall.ps1", "windows/uninstall.bat", "macos/install.command",
                 "macos/uninstall.command"):
        assert (INSTALLER / path).is_file(), path


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse_in_bash(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse_in_zsh(script):
    """macOS users may run the .command files with zsh by hand; they must at least parse there."""
    result = subprocess.run(["zsh", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_are_executable_for_double_click(script):
    assert os.access(script, os.X_OK), f"{script.name} needs chmod +x (Finder and file managers run it directly)"


def _powershell_errors(script: Path) -> list[str]:
    pwsh = shutil.which("pwsh")
    if pwsh:
        command = (
            "$errors = $null; [void][System.Management.Automation.Language.Parser]::ParseFile("
            f"'{script}', [ref]$null, [ref]$errors); $errors | ForEach-Object {{ $_.Message }}"
        )
        result = subprocess.run([pwsh, "-NoProfile", "-NonInteractive", "-Command", command],
                                capture_output=True, text=True, timeout=120)
        return [line for line in result.stdout.splitlines() if line.strip()]
    try:
        import tree_sitter
        import tree_sitter_powershell
    except ImportError:
        pytest.skip("no PowerShell parser here: neither pwsh nor the tree-sitter-powershell package")
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    tree = parser.parse(script.read_bytes())
    errors, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            errors.append(f"line {node.start_point[0] + 1}: {node.type}")
        stack.extend(node.children)
    return errors


@pytest.mark.parametrize("script", POWERSHELL_SCRIPTS, ids=lambda p: p.name)
def test_powershell_scripts_parse(script):
    assert _powershell_errors(script) == []


@pytest.mark.parametrize("bat", sorted(INSTALLER.glob("windows/*.bat")), ids=lambda p: p.name)
def test_bat_files_launch_their_powershell_script_next_to_them(bat):
    text = bat.read_text(encoding="utf-8")
    target = bat.with_suffix(".ps1").name
    assert f'"%~dp0{target}"' in text and (bat.parent / target).is_file()
    assert "-ExecutionPolicy Bypass" in text  # double-clicked scripts are blocked by the default policy


def test_windows_shortcuts_point_at_the_console_less_launcher():
    text = (INSTALLER / "windows" / "install.ps1").read_text(encoding="utf-8")
    assert "Scripts\\aae-desktop-gui.exe" in text
    assert "$link.TargetPath = $GuiLauncher" in text


def _run(script: str, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    return subprocess.run(["bash", str(INSTALLER / script), *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("script", ["linux/install.sh", "macos/install.command"])
def test_installer_help_and_bad_options(tmp_path, script):
    help_run = _run(script, "--help", home=tmp_path)
    assert help_run.returncode == 0 and "--torch" in help_run.stdout
    bad = _run(script, "--frobnicate", home=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == "[aae-desktop install] error: unknown option '--frobnicate'"
    not_torch = _run(script, "--torch", "numpy==2", home=tmp_path)
    assert not_torch.returncode == 1 and "must be a torch requirement" in not_torch.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was written before the options were checked


def test_linux_uninstall_removes_only_what_the_installer_wrote(tmp_path):
    data = tmp_path / ".local" / "share"
    app_home = data / "aae-desktop"
    launcher = app_home / "venv" / "bin" / "aae-desktop"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\n")
    (app_home / "gallery.sqlite").write_text("index")  # user data: kept without --purge
    entry = data / "applications" / "aae-desktop.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\n")
    other_entry = data / "applications" / "other.desktop"
    other_entry.write_text("[Desktop Entry]\n")
    icon = data / "icons" / "hicolor" / "48x48" / "apps" / "aae-desktop.png"
    icon.parent.mkdir(parents=True)
    icon.write_bytes(b"png")
    bin_dir = tmp_path / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "aae-desktop").symlink_to(launcher)

    result = _run("linux/uninstall.sh", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not entry.exists() and not icon.exists() and not (app_home / "venv").exists()
    assert not (bin_dir / "aae-desktop").is_symlink()
    assert other_entry.exists() and (app_home / "gallery.sqlite").exists()
    assert "uninstalled" in result.stdout

    purge = _run("linux/uninstall.sh", "--purge", home=tmp_path)
    assert purge.returncode == 0 and not app_home.exists()
    assert "nothing to remove" in _run("linux/uninstall.sh", home=tmp_path).stdout


def test_linux_uninstall_keeps_a_foreign_aae_desktop_command(tmp_path):
    bin_dir = tmp_path / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    foreign = bin_dir / "aae-desktop"
    foreign.symlink_to("/usr/bin/true")
    assert _run("linux/uninstall.sh", home=tmp_path).returncode == 0
    assert foreign.is_symlink()
