"""Case 4: every field read from a PNG is untrusted. An odd file is listed without the metadata it
cannot use; it never breaks listing, rebuilding or the rest of the gallery."""
from __future__ import annotations

import json

import pytest

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import GenerationRequest

from .helpers import gallery_images, png_with_chunks

A1111 = "a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: {seed}, Size: {size}, Model: sd15"
DEEP = "[" * 100_000 + "]" * 100_000

ODD_FILES = {
    "aae is a list": {"aae": "[1, 2, 3]"},
    "aae is a string": {"aae": '"hello"'},
    "aae is deeply nested": {"aae": DEEP},
    "aae prompt is a number": {"aae": json.dumps({"model": "m", "prompt": 5})},
    "aae excite is a list": {"aae": json.dumps({"model": "m", "prompt": "x", "excite": [1]})},
    "aae seed is huge": {"aae": json.dumps({"model": "m", "prompt": "x", "seed": 10**30})},
    "aae width is a float nan": {"aae": '{"model": "m", "prompt": "x", "guidance_scale": NaN}'},
    "aae thresholds are junk": {"aae": json.dumps({"model": "m", "prompt": "x", "excite": {"thresholds": [[1]]}})},
    "aae indices are huge": {"aae": json.dumps({"model": "m", "prompt": "x", "excite": {"token_indices": [1e308]}})},
    "a1111 seed is huge": {"parameters": A1111.format(seed="99999999999999999999999", size="64x64")},
    "a1111 seed is inf": {"parameters": A1111.format(seed="1e999", size="64x64")},
    "a1111 size is huge": {"parameters": A1111.format(seed="3", size="99999999999999999999x64")},
    "a1111 deeply nested quoted value": {"parameters": "a dog\nSteps: 20, Sampler: \"" + DEEP + "\", Seed: 3"},
}


@pytest.fixture
def odd_gallery(home):
    good = gallery_images(home.pictures, 1)
    odd = {name: png_with_chunks(home.pictures / "odd" / f"{i:02d}.png", chunks)
           for i, (name, chunks) in enumerate(ODD_FILES.items())}
    return good, odd


@pytest.mark.parametrize("name", ODD_FILES)
def test_from_dict_and_restore_never_raise_anything_but_a_clear_error(tmp_path, name):
    from aae_desktop.gallery.metadata import restore_from_png

    path = png_with_chunks(tmp_path / "x.png", ODD_FILES[name])
    try:
        restored = restore_from_png(path)
    except ValueError as exc:  # InvalidRequest is a ValueError: one sentence for the artist
        assert str(exc) and "\n" not in str(exc)
    else:  # what could be used must be usable: storable in SQLite, restorable in the window
        request = restored.request
        assert isinstance(request.prompt, str) and -2**63 <= request.seed < 2**63
        assert all(0 < i < 2**31 for i in request.excite.token_indices)
        json.dumps(request.to_dict(), allow_nan=False)


def test_listing_and_rebuilding_survive_odd_files(home, cli, odd_gallery):
    good, odd = odd_gallery
    for action in (("gallery", "rebuild"), ("gallery", "list", "--json")):
        result = cli(*action)
        assert result.code == 0 and "Traceback" not in result.err, result.err
    rows = {row["path"]: row for row in json.loads(result.out)}
    assert len(rows) == 1 + len(odd)
    assert rows[str(good[0].resolve())]["metadata"] == "aae"
    huge = rows[str(odd["a1111 seed is huge"].resolve())]
    # What could be read is kept; the seed that fits no seed box is left out.
    assert huge["prompt"] == "a dog" and huge["metadata"] == "a1111" and huge["seed"] != 99999999999999999999999
    assert rows[str(odd["aae is a list"].resolve())]["request"] is None
    assert "Indexed 14 images" in cli("gallery", "rebuild").out


def test_a_rebuild_that_stops_halfway_leaves_the_old_index_in_place(home, monkeypatch, cli):
    from aae_desktop.gallery import index as index_module
    from aae_desktop.gallery.store import GalleryStore

    images = gallery_images(home.pictures, 3)
    store = GalleryStore()
    store.set_favourite(images[1], True)
    real = index_module.entry_for_file
    seen = []

    def interrupted(path):
        seen.append(path)
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C (or a crash) in the middle of the rebuild
        return real(path)

    monkeypatch.setattr(index_module, "entry_for_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.rebuild()
    monkeypatch.undo()
    assert len(store.entries()) == 3
    assert [e.path for e in store.entries(favourites_only=True)] == [str(images[1].resolve())]
    assert not [p for p in home.data.iterdir() if p.name != "gallery.sqlite3"]  # no half-built file left


def test_saved_settings_of_another_shape_are_a_clear_error():
    for data in ([1, 2, 3], "x", None, {"prompt": 5, "model": "m"}, {"prompt": "x", "model": "m", "seed": True}):
        with pytest.raises(InvalidRequest):
            GenerationRequest.from_dict(data)
