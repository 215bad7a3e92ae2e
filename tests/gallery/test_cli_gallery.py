"""`aae-desktop gallery rebuild|list` through the real CLI dispatcher."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from aae_desktop.cli import run


def test_rebuild_and_list_json(tmp_path, store, request_, make_result, capsys):
    saved = store.save_result(make_result(request_, n=2), when=datetime(2026, 3, 4, 5, 6, 7))
    store.index.db_path.unlink()  # the CLI must find everything from the PNGs alone
    assert run(["gallery", "rebuild", str(store.root)]) == 0
    assert "Indexed 2 images" in capsys.readouterr().out

    assert run(["gallery", "list", str(store.root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["seed"] for r in rows) == [6141, 6142]
    assert {r["path"] for r in rows} == {str(s.path.resolve()) for s in saved}
    assert rows[0]["request"]["excite"]["token_indices"] == [2, 5]
    assert rows[0]["prompt"] == "a cat and a frog" and rows[0]["metadata"] == "aae"


def test_list_text_sees_deleted_files(store, request_, make_result, capsys):
    saved = store.save_result(make_result(request_, n=2), when=datetime(2026, 3, 4, 5, 6, 7))
    saved[0].path.unlink()
    assert run(["gallery", "list", str(store.root)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("\t6142\ta cat and a frog")


def test_bad_folder_is_one_line_exit_2(tmp_path, capsys):
    assert run(["gallery", "list", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gallery folder not found" in err
    assert run(["gallery"]) == 2
    assert "needs an action" in capsys.readouterr().err


def test_default_folder_from_environment(tmp_path, request_, make_result, capsys, monkeypatch):
    from aae_desktop.gallery.store import GalleryStore

    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    GalleryStore().save_result(make_result(request_), when=datetime(2026, 3, 4, 5, 6, 7))
    assert run(["gallery", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["path"].startswith(str((tmp_path / "pictures").resolve()))


def test_render_gallery_option_saves_with_metadata(tmp_path, request_, make_result):
    import argparse

    import pytest

    from aae_desktop.cli import UsageError
    from aae_desktop.cli.gallery import add_gallery_option, check_gallery_option, save_to_gallery
    from aae_desktop.gallery.metadata import read_request, read_text_chunks
    from aae_desktop.gallery.sidecar import load_attention

    parser = argparse.ArgumentParser()
    add_gallery_option(parser)
    assert parser.parse_args([]).gallery is None
    assert parser.parse_args(["--gallery"]).gallery == ""
    assert parser.parse_args(["--gallery", "x"]).gallery == "x"
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="must name a folder"):
        check_gallery_option(str(tmp_path / "file"))

    paths = save_to_gallery(make_result(request_, n=2), str(tmp_path / "g"))
    assert [read_request(p).seed for p in paths] == [6141, 6142]
    assert "Seed: 6142" in read_text_chunks(paths[1])["parameters"]
    assert 'AAE tokens: "cat,frog"' in read_text_chunks(paths[1])["parameters"]
    assert sorted(load_attention(paths[0]).maps) == [2, 5]
    default = save_to_gallery(make_result(request_), "")  # bare --gallery: the app's folder
    assert default[0].is_relative_to(tmp_path / "pictures")


def test_render_into_the_gallery_end_to_end(tiny_model_dir, tmp_path, capsys):
    """`render --gallery DIR` on the tiny model: PNGs in DIR/YYYY-MM-DD with A1111 text, request, maps, index."""
    from aae_desktop.gallery.metadata import read_request, read_text_chunks
    from aae_desktop.gallery.sidecar import load_attention

    gallery = tmp_path / "gallery"
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat and a frog", "--tokens", "cat,frog",
                "--gallery", str(gallery), "--seed", "11", "--steps", "2", "--width", "64", "--height", "64",
                "--max-iter-to-alter", "1", "--thresholds", "0:0.05", "--refinement-cap", "1"])
    assert code == 0
    printed = [l for l in capsys.readouterr().out.split("\n") if l.strip()]
    assert len(printed) == 1
    path = Path(printed[0])
    assert path.parent.parent == gallery and path.name.endswith("-11-a-cat-and-a-frog.png")
    assert read_request(path).excite.token_indices == (2, 5)
    params = read_text_chunks(path)["parameters"]
    assert "Seed: 11, Size: 64x64, Model hash: " in params and 'AAE tokens: "cat,frog"' in params
    assert sorted(load_attention(path).maps) == [2, 5]
    assert run(["gallery", "list", str(gallery)]) == 0
    assert capsys.readouterr().out.count("\t11\ta cat and a frog") == 1


def test_render_needs_out_or_gallery(tiny_model_dir, capsys):
    code = run(["render", "--model", str(tiny_model_dir), "--prompt", "a cat", "--tokens", "cat"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--gallery" in err
