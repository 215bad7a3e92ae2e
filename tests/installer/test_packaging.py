"""What a non-editable install (the installers' `pip install <checkout>`) ships: every subpackage and the icons."""
from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the app itself supports 3.10

REPO = Path(__file__).resolve().parents[2]


def _setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_subpackage_is_listed_for_the_wheel():
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "aae_desktop").rglob("__init__.py")
    }
    listed = set(_setuptools_config()["packages"])
    assert on_disk <= listed, f"missing from [tool.setuptools] packages: {sorted(on_disk - listed)}"


def test_icons_and_desktop_entry_are_package_data():
    config = _setuptools_config()
    assert config["package-dir"]["aae_desktop.resources"] == "resources"
    assert "**/*" in config["package-data"]["aae_desktop.resources"]
    assert (REPO / "resources" / "icons" / "aae-desktop-256.png").is_file()
    assert (REPO / "resources" / "aae-desktop.desktop").is_file()


def test_gui_launcher_entry_point_exists_for_shortcuts():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["gui-scripts"]["aae-desktop-gui"] == "aae_desktop.app:gui_main"
    assert project["scripts"]["aae-desktop"] == "aae_desktop.app:main"
