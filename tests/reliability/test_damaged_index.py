"""Case 1: a damaged gallery index is moved aside (and the user told where), rebuilt from the PNGs, and
never decides whether a finished image is written."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from .conftest import PROMPT, pngs_under
from .helpers import gallery_images, result_of, sample_request

GARBAGE = os.urandom(4096)


def damage(index: Path) -> None:
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_bytes(GARBAGE)


def set_aside_files(index: Path) -> list[Path]:
    return [p for p in index.parent.iterdir() if p.name.startswith(index.name + ".damaged")]


def check_set_aside(home, message: str) -> Path:
    kept = set_aside_files(home.index)
    assert len(kept) == 1 and kept[0].read_bytes() == GARBAGE
    assert str(kept[0]) in message
    return kept[0]


def test_render_into_the_gallery_with_a_damaged_index_keeps_the_image(home, tiny_model_dir, cli):
    damage(home.index)
    result = cli("render", "--model", tiny_model_dir, "--prompt", PROMPT, "--no-excite", "--gallery",
                 "--steps", 2, "--width", 64, "--height", 64, "--seed", 5)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    written = [Path(line) for line in result.out.split("\n") if line.strip()]
    assert len(written) == 1 and written[0].is_file() and written[0].is_relative_to(home.pictures)
    notes = [line for line in result.err_lines if "index" in line]
    assert len(notes) == 1 and "rebuilt" in notes[0]
    check_set_aside(home, notes[0])
    listed = cli("gallery", "list")
    assert listed.code == 0 and str(written[0].resolve()) in listed.out


@pytest.mark.parametrize("action", ["list", "rebuild"])
def test_gallery_commands_repair_a_damaged_index(home, cli, action):
    images = gallery_images(home.pictures, 2)
    damage(home.index)
    result = cli("gallery", action)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert len(result.err_lines) == 1 and "rebuilt from the images" in result.err_lines[0]
    check_set_aside(home, result.err_lines[0])
    if action == "list":
        assert all(str(p.resolve()) in result.out for p in images)
    else:
        assert "Indexed 2 images" in result.out
    again = cli("gallery", "list")
    assert again.code == 0 and again.err_lines == [] and all(str(p.resolve()) in again.out for p in images)


def test_an_index_damaged_during_a_session_is_repaired_on_the_next_save(home):
    from aae_desktop.gallery.store import GalleryStore

    store = GalleryStore()
    first = store.save_result(result_of(sample_request()))[0]
    damage(home.index)
    second = store.save_result(result_of(sample_request(seed=7)))[0]
    assert second.path.is_file() and second.entry is not None
    assert any("rebuilt" in note for note in store.take_notes())
    assert {e.path for e in store.entries()} == {str(first.path.resolve()), str(second.path.resolve())}


def test_the_index_never_decides_whether_a_png_is_written(home, monkeypatch):
    """An index that cannot be written (locked by another program, disk full) costs the entry, not the image."""
    from aae_desktop.gallery.index import GalleryIndex
    from aae_desktop.gallery.store import GalleryStore

    def locked(self, *args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    store = GalleryStore()
    monkeypatch.setattr(GalleryIndex, "add", locked)
    saved = store.save_result(result_of(sample_request(num_images=2)))
    assert [s.path.is_file() for s in saved] == [True, True]
    assert all(s.entry is None for s in saved)
    notes = store.take_notes()
    assert notes and "database is locked" in notes[0] and "gallery rebuild" in notes[0]
    monkeypatch.undo()
    store.resync()  # the next start finds them
    assert len(store.entries()) == 2


def test_the_window_opens_its_gallery_over_a_damaged_index_and_says_where_it_went(home, make_window, qtbot):
    from aae_desktop.ui.gallery.gallery_integration import install_gallery

    images = gallery_images(home.pictures, 2)
    damage(home.index)
    window = make_window()
    integration = install_gallery(window)
    assert window.gallery is integration and window.gallery_widget is integration.tabs
    assert window.banner.isVisible() and "rebuilt from the images" in window.banner.message()
    check_set_aside(home, window.banner.message())
    qtbot.waitUntil(lambda: integration.gallery.model.rowCount() == 2, timeout=15000)
    # ... and it keeps saving: the next finished image lands in the folder and the list.
    window.image_ready.emit(result_of(sample_request(seed=99)).images[0])
    qtbot.waitUntil(lambda: len(pngs_under(home.pictures)) == 3, timeout=15000)
    qtbot.waitUntil(lambda: integration.gallery.model.rowCount() == 3, timeout=15000)
    integration.gallery.background.wait()
    assert len(images) == 2
