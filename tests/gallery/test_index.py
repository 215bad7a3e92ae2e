"""The SQLite index: search/filter, favourites, rebuild from the PNGs, resync with outside changes."""
from __future__ import annotations

import shutil
from datetime import datetime

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.gallery.store import GalleryStore


def fill(store, request_, make_result):
    a = store.save_result(make_result(request_), when=datetime(2026, 1, 1, 10, 0, 0))[0].path
    b = store.save_result(make_result(request_.replace(prompt="a red fox in the snow", seed=7, model="other.safetensors")),
                          when=datetime(2026, 1, 2, 10, 0, 0))[0].path
    return a, b


def test_search_filter_and_favourites(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    assert [e.prompt for e in store.entries(search="FOX snow")] == ["a red fox in the snow"]
    assert [e.seed for e in store.entries(model="other")] == [7]
    assert store.index.models() == ["other", "tiny-random"]
    store.set_favourite(cat, True)
    assert [e.path for e in store.entries(favourites_only=True)] == [str(cat.resolve())]
    assert store.entries(search="100%") == []  # LIKE wildcards are literal


def test_rebuild_after_deleting_the_database(tmp_path, store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    before = {e.path: e for e in store.entries()}
    store.index.db_path.unlink()
    fresh = GalleryStore(store.root, store.index.db_path)
    assert fresh.entries() == []
    report = fresh.rebuild()
    assert len(report.added) == 2
    after = {e.path: e for e in fresh.entries()}
    assert after.keys() == before.keys()
    for path, entry in after.items():
        assert entry.request == before[path].request
        assert (entry.prompt, entry.seed, entry.model, entry.source) == (
            before[path].prompt, before[path].seed, before[path].model, "aae")


def test_rebuild_keeps_stars(store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    store.set_favourite(fox, True)
    store.rebuild()
    assert [e.seed for e in store.entries(favourites_only=True)] == [7]


def test_resync_sees_files_removed_added_and_moved_outside(tmp_path, store, request_, make_result):
    cat, fox = fill(store, request_, make_result)
    cat.unlink()
    moved = store.root / "elsewhere" / fox.name
    moved.parent.mkdir()
    shutil.move(fox, moved)
    info = PngInfo()
    info.add_text("parameters", "a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 3, Size: 64x64, Model: sd15")
    Image.new("RGB", (8, 8)).save(store.root / "from-a1111.png", pnginfo=info)
    Image.new("RGB", (8, 8)).save(store.root / "no-metadata.png")

    report = store.resync()
    assert sorted(p.rsplit("/", 1)[-1] for p in report.removed) == sorted([cat.name, fox.name])
    assert len(report.added) == 3
    entries = {e.name: e for e in store.entries()}
    assert set(entries) == {fox.name, "from-a1111.png", "no-metadata.png"}
    assert entries["from-a1111.png"].source == "a1111" and entries["from-a1111.png"].seed == 3
    assert entries["no-metadata.png"].request is None
    assert not store.resync().changed  # a second pass finds nothing new


def test_index_from_other_schema_is_rebuilt(tmp_path):
    import sqlite3

    from aae_desktop.gallery.index import GalleryIndex

    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE images (path TEXT)")
        conn.execute("PRAGMA user_version = 99")
    index = GalleryIndex(db)
    assert index.count() == 0 and index.models() == []


def test_sibling_folder_with_same_prefix_is_not_mixed_in(tmp_path, request_, make_result):
    a = GalleryStore(tmp_path / "gallery", tmp_path / "index.sqlite3")
    b = GalleryStore(tmp_path / "gallery2", tmp_path / "index.sqlite3")
    a.save_result(make_result(request_))
    b.save_result(make_result(request_.replace(seed=1)))
    assert [e.seed for e in a.entries()] == [6141]
    assert not a.resync().removed and len(b.entries()) == 1
