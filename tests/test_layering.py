"""engine/ and gallery/ never import Qt: importing every module of both leaves PySide6 unloaded."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import aae_desktop

ROOT = Path(aae_desktop.__file__).resolve().parent


def _modules(package: str) -> list[str]:
    """Every module of `package`, its subpackages' too (engine/run/, engine/models/, ...)."""
    path = ROOT / package.split(".")[-1]
    return [m.name for m in pkgutil.walk_packages([str(path)], prefix=f"{package}.")]


def test_engine_and_gallery_do_not_import_qt():
    modules = _modules("aae_desktop.engine") + _modules("aae_desktop.gallery")
    assert "aae_desktop.engine.run.generate" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
