"""Renders resources/icons/aae-desktop.svg into the PNG, ICO and ICNS files the installers use.

Run after editing the SVG: `python3 installer/render_icons.py`. The rendered files are committed,
so installing never needs an SVG renderer; Qt's QtSvg (in PySide6-Essentials) draws them here.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS / "aae-desktop.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # Windows shortcuts and taskbar
ICNS_SIZES = (16, 32, 64, 128, 256, 512)  # Pillow builds the icns from these


def png_path(size: int) -> Path:
    return ICONS / f"aae-desktop-{size}.png"


def render_png(size: int, target: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"render_icons: could not write {target}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QImage text/paint needs one
    for size in PNG_SIZES:
        render_png(size, png_path(size))
    largest = Image.open(png_path(512)).convert("RGBA")
    largest.save(ICONS / "aae-desktop.ico", sizes=[(s, s) for s in ICO_SIZES])
    # Pillow writes the icns from the largest image, downscaling for each slot it fills.
    largest.save(ICONS / "aae-desktop.icns", append_images=[Image.open(png_path(s)) for s in ICNS_SIZES[:-1]])
    print(f"render_icons: wrote {len(PNG_SIZES)} PNGs, .ico and .icns into {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
