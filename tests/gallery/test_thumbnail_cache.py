"""The thumbnail cache on disk: thumbnails of images gone are removed, and the cache stays under its cap."""
from __future__ import annotations

import os

from aae_desktop.gallery.thumbnail_cache import DEFAULT_MAX_BYTES, prune, thumbnail_key


def put(folder, key: str, size: int, used: float):
    path = folder / f"{key}.png"
    path.write_bytes(b"x" * size)
    os.utime(path, (used, used))
    return path


def test_prune_removes_the_thumbnails_of_images_no_longer_there(tmp_path):
    keep = {thumbnail_key("/pics/a.png", 1), thumbnail_key("/pics/b.png", 2)}
    kept = [put(tmp_path, key, 10, 1000) for key in sorted(keep)]
    orphan = put(tmp_path, thumbnail_key("/pics/deleted.png", 3), 10, 2000)
    changed = put(tmp_path, thumbnail_key("/pics/a.png", 0), 10, 2000)  # the image was rewritten since
    left_over = tmp_path / ".abc.png.part"  # a write that was cut off
    left_over.write_bytes(b"x")
    report = prune(tmp_path, keep, max_bytes=1000)
    assert all(p.exists() for p in kept)
    assert not orphan.exists() and not changed.exists() and not left_over.exists()
    assert sorted(report.removed) == sorted([orphan, changed, left_over]) and report.kept_bytes == 20


def test_prune_keeps_the_cache_under_its_cap_dropping_the_least_recently_used(tmp_path):
    files = [put(tmp_path, thumbnail_key(f"/pics/{i}.png", i), 100, 1000 + i) for i in range(5)]
    keep = {f.stem for f in files}
    report = prune(tmp_path, keep, max_bytes=250)
    assert [f.exists() for f in files] == [False, False, False, True, True]
    assert report.kept_bytes == 200
    # a thumbnail shown again counts as new
    os.utime(files[3], (5000, 5000))
    prune(tmp_path, keep, max_bytes=150)
    assert [f.exists() for f in files] == [False, False, False, True, False]


def test_prune_of_a_missing_folder_does_nothing(tmp_path):
    assert prune(tmp_path / "none", set()).removed == []
    assert DEFAULT_MAX_BYTES == 200 * 1024 * 1024
