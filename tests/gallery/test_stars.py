"""Stars are kept beside the images, so a lost or damaged index (or a rebuild) never loses them."""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime

from aae_desktop.cli import run
from aae_desktop.gallery.store import GalleryStore


def fill(store, request_, make_result):
    cat = store.save_result(make_result(request_), when=datetime(2026, 1, 1, 10, 0, 0))[0].path
    fox = store.save_result(make_result(request_.replace(prompt="a red fox", seed=7)),
                            when=datetime(2026, 1, 2, 10, 0, 0))[0].path
    return cat, fox


def beside(path) -> set[str]:
    """The files next to an image other than the image and its heat maps."""
    return {p.name for p in path.parent.iterdir()} - {path.name, path.stem + ".attn.npz"}


def starred(store) -> list[str]:
    return [e.path for e in store.entries(favourites_only=True)]


def test_a_star_survives_deleting_the_index(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(cat, True)
    store.index.db_path.unlink()
    again = GalleryStore(store.root, store.index.db_path)
    again.resync()  # what the window does at start
    assert starred(again) == [str(cat.resolve())]
    assert len(again.entries()) == 2


def test_a_star_survives_a_damaged_index_and_the_note_counts_it(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(fox, True)
    store.index.db_path.write_bytes(os.urandom(4096))
    again = GalleryStore(store.root, store.index.db_path)
    assert starred(again) == [str(fox.resolve())]  # the first query finds the damage and repairs it
    notes = again.take_notes()
    assert len(notes) == 1 and "rebuilt from the images (2 images, 1 starred)" in notes[0], notes


def test_an_index_deleted_while_in_use_is_made_again_with_its_stars(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(cat, True)
    store.index.db_path.unlink()
    assert starred(store) == [str(cat.resolve())]
    notes = store.take_notes()
    assert len(notes) == 1 and "was deleted" in notes[0] and "(2 images, 1 starred)" in notes[0], notes


def test_rebuild_reads_the_stars_from_beside_the_images(store, request_, make_result, capsys):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(cat, True)
    store.index.db_path.unlink()
    assert run(["gallery", "rebuild", str(store.root)]) == 0
    assert "Indexed 2 images (1 starred)" in capsys.readouterr().out
    assert run(["gallery", "list", str(store.root), "--favourites"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"* {cat.resolve()}")


def test_unstar_removes_the_marker(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(cat, True)
    markers = beside(cat)
    assert len(markers) == 1  # one small file beside the image, which itself is not rewritten
    from aae_desktop.gallery.stars import star_path

    assert markers == {star_path(cat).name}
    store.set_favourite(cat, False)
    assert beside(cat) == set() and starred(store) == []
    store.index.db_path.unlink()
    assert starred(GalleryStore(store.root, store.index.db_path)) == []


def test_starring_never_rewrites_the_image(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    before = (cat.read_bytes(), cat.stat().st_mtime_ns)
    store.set_favourite(cat, True)
    assert (cat.read_bytes(), cat.stat().st_mtime_ns) == before


def test_deleting_an_image_removes_its_star(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(cat, True)
    assert beside(cat)
    store.delete(cat)
    assert not cat.exists() and beside(cat) == set()
    store.index.db_path.unlink()
    assert starred(GalleryStore(store.root, store.index.db_path)) == []


def test_stars_of_an_index_from_before_the_markers_are_kept(store, request_, make_result):
    """An index written by the previous version holds stars that have no file beside the image yet."""
    cat, fox = fill(store, request_, make_result)
    with sqlite3.connect(store.index.db_path) as db:
        db.execute("UPDATE images SET favourite = 1 WHERE path = ?", (str(fox.resolve()),))
        db.execute("PRAGMA user_version = 1")
    GalleryStore(store.root, store.index.db_path)  # opening it writes the markers
    assert len(beside(fox)) == 1
    store.index.db_path.unlink()
    again = GalleryStore(store.root, store.index.db_path)
    again.rebuild()
    assert starred(again) == [str(fox.resolve())]
