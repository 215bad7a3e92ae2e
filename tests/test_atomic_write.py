"""The one atomic write every per-user and gallery file goes through (settings, models.json, hash
cache, sidecars, stars, thumbnails, PNGs)."""
from __future__ import annotations

import os

import pytest

from aae_desktop.atomic_write import USER_UMASK, atomic_write, atomic_write_text


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "settings.json"
    target.write_text("old")

    def half_then_fail(handle):
        handle.write("new, but cut")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail, text=True, prefix=".settings-", suffix=".json")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_a_write_replaces_the_file_and_makes_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "x.star"
    atomic_write_text(target, "first", make_folder=True)
    atomic_write_text(target, "second ✓")
    assert target.read_text(encoding="utf-8") == "second ✓"
    assert [p.name for p in target.parent.iterdir()] == ["x.star"]


@pytest.mark.skipif(os.name != "posix", reason="Windows files follow the folder's ACL")
def test_usual_permissions_follow_the_umask_else_owner_only(tmp_path):
    shared = atomic_write_text(tmp_path / "image.png", "x", usual_permissions=True)
    private = atomic_write_text(tmp_path / "settings.json", "x")
    assert shared.stat().st_mode & 0o777 == 0o666 & ~USER_UMASK
    assert private.stat().st_mode & 0o777 == 0o600
