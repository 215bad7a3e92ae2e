"""Gallery ▸ Rebuild index in the window, stars coming back after a lost or damaged index, and the
thumbnail cache losing what belongs to images no longer there."""
from __future__ import annotations

import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # gallery_helpers, whether or not tests/ui is a package
from gallery_helpers import fake_result, isolate_dirs, make_store, sample_request  # noqa: E402

from aae_desktop.gallery.paths import cache_dir  # noqa: E402
from aae_desktop.ui.gallery.gallery_integration import install_gallery  # noqa: E402

TIMEOUT = 15_000


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


def two_images(store) -> list[Path]:
    saved = store.save_result(fake_result(sample_request(), n=2), when=datetime(2026, 5, 1, 9, 0, 0))
    return [s.path for s in saved]


def menu_action(window, menu_title: str, text: str):
    for top in window.menuBar().actions():
        if top.menu() is not None and top.text().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text().replace("&", "").rstrip("…") == text:
                    return action
    raise AssertionError(f"no {menu_title} ▸ {text} in the menu bar")


def open_gallery(make_window, qtbot, store):
    window = make_window()
    integration = install_gallery(window, store)
    qtbot.waitUntil(lambda: integration.gallery.status.text() != "", timeout=TIMEOUT)
    assert integration.gallery.background.wait()
    return window, integration


def test_rebuild_index_from_the_menu_brings_the_stars_back(make_window, qtbot, tmp_path):
    store = make_store(tmp_path)
    images = two_images(store)
    window, integration = open_gallery(make_window, qtbot, store)
    gallery = integration.gallery
    gallery.select_path(images[1])
    gallery.star.click()
    gallery.favourites.setChecked(True)
    assert gallery.model.rowCount() == 1
    with sqlite3.connect(store.index.db_path) as db:  # an index that lost the star (a backup put back)
        db.execute("UPDATE images SET favourite = 0")
    gallery.refresh()
    assert gallery.model.rowCount() == 0

    rebuilds = []
    real_rebuild = store.rebuild
    store.rebuild = lambda: (rebuilds.append(1), real_rebuild())[1]
    action = menu_action(window, "Gallery", "Rebuild index")
    action.trigger()
    action.trigger()  # a second click while it runs starts nothing more
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 1, timeout=TIMEOUT)
    assert gallery.model.entry(0).path == str(images[1].resolve()) and gallery.model.entry(0).favourite
    qtbot.waitUntil(lambda: action.isEnabled(), timeout=TIMEOUT)
    assert rebuilds == [1]
    assert "2 images, 1 starred" in window.statusBar().currentMessage()
    assert gallery.background.wait()


def test_the_banner_after_a_damaged_index_counts_the_stars(make_window, qtbot, tmp_path):
    store = make_store(tmp_path)
    images = two_images(store)
    store.set_favourite(images[0], True)
    store.index.db_path.write_bytes(os.urandom(4096))
    window, integration = open_gallery(make_window, qtbot, make_store(tmp_path))
    assert window.banner.isVisible()
    assert "rebuilt from the images (2 images, 1 starred)" in window.banner.message()
    integration.gallery.favourites.setChecked(True)
    assert [integration.gallery.model.entry(0).path] == [str(images[0].resolve())]


def test_deleting_an_image_removes_its_thumbnail_and_star(make_window, qtbot, tmp_path):
    from aae_desktop.gallery.stars import star_path
    from aae_desktop.gallery.thumbnail_cache import thumbnail_file

    store = make_store(tmp_path)
    images = two_images(store)
    window, integration = open_gallery(make_window, qtbot, store)
    gallery = integration.gallery
    gallery.select_path(images[0])
    entry = gallery.selected_entry()
    gallery.star.click()
    thumbnail = thumbnail_file(cache_dir() / "thumbnails", entry.path, entry.mtime_ns)
    qtbot.waitUntil(lambda: gallery.thumbnails.get(entry.path, entry.mtime_ns) is not None, timeout=TIMEOUT)
    assert thumbnail.is_file() and star_path(images[0]).is_file()
    gallery.delete.click()
    assert not images[0].exists() and not thumbnail.exists() and not star_path(images[0]).exists()
    gallery.thumbnails.background.wait()


def test_thumbnails_of_images_gone_are_pruned_at_start(make_window, qtbot, tmp_path):
    from aae_desktop.gallery.thumbnail_cache import thumbnail_file

    store = make_store(tmp_path)
    images = two_images(store)
    folder = cache_dir() / "thumbnails"
    folder.mkdir(parents=True)
    stat = images[0].stat()
    kept = thumbnail_file(folder, str(images[0].resolve()), stat.st_mtime_ns)
    orphan = thumbnail_file(folder, str(tmp_path / "deleted.png"), 1)
    for path in (kept, orphan):
        path.write_bytes(b"x")
    window, integration = open_gallery(make_window, qtbot, store)
    assert kept.exists() and not orphan.exists()


def test_a_star_the_folder_refuses_is_said_and_not_kept(make_window, qtbot, tmp_path, monkeypatch):
    import aae_desktop.gallery.store as store_module

    def refuse(path, starred):
        raise PermissionError(13, "Permission denied")

    store = make_store(tmp_path)
    images = two_images(store)
    window, integration = open_gallery(make_window, qtbot, store)
    gallery = integration.gallery
    gallery.select_path(images[0])
    monkeypatch.setattr(store_module, "set_star", refuse)
    gallery.star.click()
    assert "could not be saved beside it (Permission denied)" in gallery.status.text()
    assert not gallery.star.isChecked() and store.entries(favourites_only=True) == []
