"""Saving into the gallery: naming, atomic writes that never overwrite, sidecars, delete to trash."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aae_desktop.gallery import png_files as store_module  # where the atomic write lives
from aae_desktop.gallery.metadata import read_request
from aae_desktop.gallery.sidecar import load_attention, sidecar_path
from aae_desktop.gallery.store import GalleryStore, clean_temporary_files, prompt_slug, write_png_atomic

WHEN = datetime(2026, 11, 25, 14, 3, 9)


def visible_files(root: Path):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_slug():
    assert prompt_slug("A cat, and a FROG! on a log in the rain") == "a-cat-and-a-frog-on"
    assert prompt_slug("crème brûlée") == "creme-brulee"
    assert prompt_slug("一只猫") == "image"


def test_default_folder_is_pictures_attend_and_excite(monkeypatch):
    from aae_desktop.gallery.paths import default_gallery_dir

    monkeypatch.delenv("AAE_DESKTOP_GALLERY_DIR")
    from platformdirs import user_pictures_dir

    assert default_gallery_dir() == Path(user_pictures_dir()) / "Attend-and-Excite"


def test_save_result_names_metadata_and_sidecar(store, request_, make_result):
    saved = store.save_result(make_result(request_, n=2), when=WHEN)
    assert visible_files(store.root) == [
        "2026-11-25/140309-6141-a-cat-and-a-frog.attn.npz",
        "2026-11-25/140309-6141-a-cat-and-a-frog.png",
        "2026-11-25/140309-6142-a-cat-and-a-frog.attn.npz",
        "2026-11-25/140309-6142-a-cat-and-a-frog.png",
    ]
    second = saved[1]
    assert read_request(second.path) == request_.for_image(1)  # each image reproduces itself alone
    data = load_attention(second.path)
    assert sorted(data.maps) == [2, 5] and data.maps[2].shape == (16, 16)
    np.testing.assert_allclose(data.maps[5], make_result(request_, n=2).images[1].attention_maps[5], atol=1e-3)
    assert [r.step for r in data.loss_history] == [0, 1, 2]
    assert data.loss_history[2].token_max_attention[5] == pytest.approx(0.2)
    assert sorted(e.seed for e in store.entries()) == [6141, 6142]


def test_never_overwrites(store, request_, make_result):
    first = store.save_result(make_result(request_), when=WHEN)[0].path
    original = first.read_bytes()
    again = store.save_result(make_result(request_, color=(0, 0, 255)), when=WHEN)[0].path
    assert again.name == "140309-6141-a-cat-and-a-frog-2.png"
    assert first.read_bytes() == original
    assert sidecar_path(again).name == "140309-6141-a-cat-and-a-frog-2.attn.npz"


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, request_):
    folder = tmp_path / "day"
    folder.mkdir()
    (folder / "keep.png").write_bytes(b"already saved")

    real_save = Image.Image.save

    def half_write(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG\r\n\x1a\n half")  # some bytes reach the disk, then the "crash"
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_png_atomic(Image.new("RGB", (8, 8)), folder, "keep", None)
    monkeypatch.setattr(Image.Image, "save", real_save)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.png"]
    assert (folder / "keep.png").read_bytes() == b"already saved"


def test_failure_while_naming_leaves_no_partial(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt  # like the app being stopped right before the rename

    monkeypatch.setattr(store_module.os, "link", boom)
    with pytest.raises(KeyboardInterrupt):
        write_png_atomic(Image.new("RGB", (8, 8)), tmp_path, "x", None)
    assert list(tmp_path.iterdir()) == []


def test_killed_save_leftovers_are_hidden_and_cleaned(store, request_, make_result):
    store.save_result(make_result(request_), when=WHEN)
    day = store.root / "2026-11-25"
    leftover = day / ".140309-1-x-abc.png.part"  # what a SIGKILL between write and rename leaves
    leftover.write_bytes(b"\x89PNG half")
    old = leftover.stat().st_mtime - 7200
    os.utime(leftover, (old, old))
    report = store.resync()
    assert not report.added and len(store.entries()) == 1  # never listed
    assert not leftover.exists()
    assert clean_temporary_files(store.root) == []


def test_fallback_without_hard_links(tmp_path, monkeypatch):
    def no_links(*a, **k):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(store_module.os, "link", no_links)
    (tmp_path / "x.png").write_bytes(b"old")
    path = write_png_atomic(Image.new("RGB", (8, 8)), tmp_path, "x", None)
    assert path.name == "x-2.png" and (tmp_path / "x.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-2.png", "x.png"]


def test_delete_moves_image_and_sidecar_to_trash(store, request_, make_result):
    path = store.save_result(make_result(request_), when=WHEN)[0].path
    store.delete(path)
    assert sorted(Path(p).name for p in store.trashed) == [
        "140309-6141-a-cat-and-a-frog.attn.npz", "140309-6141-a-cat-and-a-frog.png"]
    assert store.entries() == [] and not path.exists()


def test_model_hash_in_parameters(tmp_path, request_, make_result):
    """A diffusers folder is named by its UNet weights' sha256 (first 10 hex), as A1111 names a checkpoint."""
    import hashlib

    from aae_desktop.gallery.metadata import read_text_chunks

    folder = tmp_path / "tiny-sd"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text("{}")
    weights = b"not really weights, but hashed all the same" * 100
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(weights)
    s = GalleryStore(tmp_path / "g", tmp_path / "i.sqlite3", trash=os.remove)
    path = s.save_result(make_result(request_.replace(model=str(folder))), when=WHEN)[0].path
    expected = hashlib.sha256(weights).hexdigest()[:10]
    assert f"Model hash: {expected}, Model: tiny-sd," in read_text_chunks(path)["parameters"]


def test_killed_mid_saving_leaves_only_complete_pngs(tmp_path):
    """A real SIGKILL while a process saves big images in a loop: every visible PNG is whole and indexed."""
    import signal
    import subprocess
    import sys
    import time

    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    folder = tmp_path / "g"
    script = (
        "import sys, numpy as np\n"
        "from PIL import Image\n"
        "from aae_desktop.gallery.store import write_png_atomic\n"
        "from pathlib import Path\n"
        "rng = np.random.default_rng(0)\n"
        "for i in range(10_000):\n"
        "    img = Image.fromarray(rng.integers(0, 255, (768, 768, 3), dtype=np.uint8))\n"  # slow to encode
        f"    write_png_atomic(img, Path({str(folder)!r}), 'img', None)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(folder.glob("*.png"))) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    visible = sorted(folder.glob("*.png"))
    assert len(visible) >= 2
    for path in visible:
        with Image.open(path) as img:
            img.load()  # raises on a truncated file
            assert img.size == (768, 768)
    store = GalleryStore(folder, tmp_path / "i.sqlite3")
    store.resync()
    assert len(store.index.query()) == len(visible)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_images_get_the_permissions_of_any_new_file(tmp_path):
    """Not mkstemp's owner-only 0600: other programs of the user's (viewers, backups, a shared folder) read them."""
    path = write_png_atomic(Image.new("RGB", (8, 8)), tmp_path, "plain")
    assert path.stat().st_mode & 0o777 == 0o666 & ~store_module._UMASK
