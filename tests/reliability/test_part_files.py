"""Case 8: a complete image left as a hidden `.part` file (killed between write and rename) is recovered
into the gallery; incomplete ones are still cleaned up, and a save in progress is never touched."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image

from aae_desktop.gallery.index import TEMP_SUFFIX
from aae_desktop.gallery.metadata import png_info, read_request
from aae_desktop.gallery.png_files import temporary_prefix

from .helpers import sample_request

HOUR = 3600


def part_file(folder: Path, stem: str, data: bytes, age_s: float) -> Path:
    """What write_png_atomic leaves when killed: `.<stem>~<random>.png.part` in the day folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{temporary_prefix(stem)}k3y9_x2q.png{TEMP_SUFFIX}"
    path.write_bytes(data)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 90)).save(buffer, format="PNG", pnginfo=png_info(sample_request(seed=seed)))
    return buffer.getvalue()


def test_a_complete_part_image_is_recovered_into_the_gallery(home, cli):
    day = home.pictures / "2026-05-06"
    part = part_file(day, "101112-42-a-cat-and-a-frog", png_bytes(42), age_s=5 * 60)
    result = cli("gallery", "list")
    assert result.code == 0
    recovered = day / "101112-42-a-cat-and-a-frog.png"
    assert recovered.is_file() and not part.exists()
    assert read_request(recovered).seed == 42
    assert str(recovered.resolve()) in result.out
    assert len(result.err_lines) == 1 and "Recovered 1 image" in result.err_lines[0]
    assert str(recovered) in result.err_lines[0]


def test_a_recovered_image_never_replaces_one_with_its_name(home):
    from aae_desktop.gallery.store import GalleryStore

    day = home.pictures / "2026-05-06"
    day.mkdir(parents=True)
    (day / "101112-42-a-cat-and-a-frog.png").write_bytes(png_bytes(1))
    part_file(day, "101112-42-a-cat-and-a-frog", png_bytes(42), age_s=2 * HOUR)
    GalleryStore().resync()
    assert read_request(day / "101112-42-a-cat-and-a-frog.png").seed == 1
    assert read_request(day / "101112-42-a-cat-and-a-frog-2.png").seed == 42


def test_incomplete_parts_are_removed_when_stale_and_kept_while_a_save_may_run(home):
    from aae_desktop.gallery.store import GalleryStore

    day = home.pictures / "2026-05-06"
    whole = png_bytes(7)
    stale_cut = part_file(day, "a", whole[: len(whole) // 2], age_s=2 * HOUR)
    fresh_cut = part_file(day, "b", whole[: len(whole) // 2], age_s=5)
    fresh_whole = part_file(day, "c", whole, age_s=1)  # a save that is about to rename its file
    no_iend = part_file(day, "d", whole[:-12], age_s=2 * HOUR)  # every chunk but the end marker
    GalleryStore().resync()
    assert not stale_cut.exists() and not no_iend.exists()
    assert fresh_cut.exists() and fresh_whole.exists()
    assert [p.name for p in day.glob("*.png")] == []


def test_the_window_says_what_it_recovered(home, make_window, qtbot):
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    day = home.pictures / "2026-05-06"
    part_file(day, "101112-42-a-cat-and-a-frog", png_bytes(42), age_s=5 * 60)
    window = make_window()
    integration = install_gallery(window)
    qtbot.waitUntil(lambda: integration.gallery.model.rowCount() == 1, timeout=15000)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=15000)
    assert "Recovered 1 image" in window.banner.message()
    assert (day / "101112-42-a-cat-and-a-frog.png").is_file()


def test_a_part_file_with_a_hand_made_name_keeps_its_whole_name(home):
    """Only the random part this app's own saves add is dropped; a name without it is kept whole
    (it lost its last word: `.my-holiday.png.part` came back as `my.png`)."""
    from aae_desktop.gallery.store import GalleryStore

    day = home.pictures / "2026-05-06"
    day.mkdir(parents=True)
    for name in (".my-holiday.png.part", ".cat-portrait-20240101.png.part", ".frog.png.part"):
        (day / name).write_bytes(png_bytes(5))
        old = time.time() - 2 * HOUR
        os.utime(day / name, (old, old))
    GalleryStore().resync()
    assert sorted(p.name for p in day.glob("*.png")) == ["cat-portrait-20240101.png", "frog.png", "my-holiday.png"]
