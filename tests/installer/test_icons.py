"""The app icon: a valid SVG, every PNG size rendered from the current SVG, and the Windows/macOS formats."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ICONS = REPO / "resources" / "icons"


def _render_icons_module():
    spec = importlib.util.spec_from_file_location("render_icons", REPO / "installer" / "render_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_icons = _render_icons_module()


def test_svg_is_valid_and_square():
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICONS / "aae-desktop.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 512


@pytest.mark.parametrize("size", render_icons.PNG_SIZES)
def test_png_has_its_size_and_a_transparent_rounded_corner(size):
    from PIL import Image

    image = Image.open(render_icons.png_path(size)).convert("RGBA")
    assert image.size == (size, size)
    assert image.getpixel((0, 0))[3] == 0  # the rounded backdrop leaves the corner clear
    assert image.getpixel((size // 2, size // 2))[3] == 255


def test_pngs_match_the_svg(qapp, tmp_path):
    """Catches an SVG edit committed without re-running installer/render_icons.py."""
    import numpy as np
    from PIL import Image

    for size in (32, 128):
        fresh = tmp_path / f"{size}.png"
        render_icons.render_png(size, fresh)
        committed = np.asarray(Image.open(render_icons.png_path(size)).convert("RGBA"), dtype=np.int16)
        rendered = np.asarray(Image.open(fresh).convert("RGBA"), dtype=np.int16)
        assert np.abs(committed - rendered).mean() < 2.0, f"{size}px PNG is out of date: re-run render_icons.py"


def test_ico_and_icns_carry_the_sizes_shortcuts_use():
    from PIL import Image

    ico = Image.open(ICONS / "aae-desktop.ico")
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    icns = Image.open(ICONS / "aae-desktop.icns")
    assert icns.format == "ICNS" and icns.size[0] >= 512
