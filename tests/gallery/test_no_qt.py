"""gallery/ (and the gallery CLI) must never import Qt: they run headless and in worker threads."""
from __future__ import annotations

import subprocess
import sys


def test_gallery_modules_import_no_qt():
    code = (
        "import sys\n"
        "import aae_desktop.gallery.metadata, aae_desktop.gallery.a1111, aae_desktop.gallery.store, "
        "aae_desktop.gallery.index, aae_desktop.gallery.sidecar, aae_desktop.gallery.heatmaps, "
        "aae_desktop.gallery.grid, aae_desktop.gallery.model_hash, aae_desktop.cli.gallery, "
        "aae_desktop.gallery.stars, aae_desktop.gallery.thumbnail_cache, aae_desktop.gallery.box_words\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
