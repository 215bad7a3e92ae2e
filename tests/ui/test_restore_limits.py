"""Restoring an image made elsewhere: values the window's boxes cannot hold are named with what they
became (they were clamped quietly), and an image without a usable seed gets a random one, not 0."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

sys.path.insert(0, str(Path(__file__).parent))
from gallery_helpers import isolate_dirs, make_store  # noqa: E402

from aae_desktop.engine.request import GenerationRequest  # noqa: E402
from aae_desktop.ui.gallery.gallery_integration import install_gallery  # noqa: E402

TIMEOUT = 15_000


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    isolate_dirs(tmp_path, monkeypatch)


def a1111_png(path: Path, fields: str) -> Path:
    info = PngInfo()
    info.add_text("parameters", f"a castle on a hill\nNegative prompt: fog\n{fields}")
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_a_dropped_image_with_values_past_the_boxes_says_what_they_became(make_window, tmp_path):
    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    steps_box, seed_box = window.parameters.steps, window.parameters.seed
    steps, seed = steps_box.maximum() + 300, seed_box.maximum() * 2 + 12  # a CLI or A1111 seed past 2^31
    path = a1111_png(tmp_path / "elsewhere.png", f"Steps: {steps}, Sampler: Euler a, CFG scale: 6.25, "
                                                 f"Seed: {seed}, Size: 512x640")
    assert integration.drop.restore(path)
    message = window.banner.message()
    assert not window.banner.isHidden()
    assert f"Steps {steps} became {steps_box.value()}" in message
    assert f"Seed {seed} became {seed_box.value()}" in message
    guidance = window.parameters.guidance.value()  # the box has one decimal
    assert f"Guidance 6.25 became {guidance:g}" in message and guidance != 6.25
    assert "Size" not in message and "Width" not in message  # 512x640 fits: only what changed is named
    assert window.parameters.seed_mode_key() == "locked"


def test_a_restore_that_fits_the_boxes_says_nothing(make_window):
    window = make_window()  # the control: the same restore within the boxes leaves the banner alone
    window.apply_request(GenerationRequest(model="m", prompt="a cat", seed=2**31 - 1, steps=500, guidance_scale=6.5,
                                           width=2048, height=64))
    assert window.banner.isHidden()
    assert window.current_request().seed == 2**31 - 1


def test_a_dropped_image_without_a_usable_seed_gets_a_random_seed_not_0(make_window, tmp_path):
    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    window.apply_seed(1234)  # locked
    path = a1111_png(tmp_path / "odd.png", "Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 1e999, Size: 512x640")
    assert integration.drop.restore(path)
    assert window.prompt_editor.prompt() == "a castle on a hill" and window.parameters.steps.value() == 20
    assert window.parameters.seed_mode_key() == "random"
    assert "no seed this app can use" in window.banner.message() and not window.banner.isHidden()


def test_use_all_settings_of_an_image_without_a_usable_seed_gets_a_random_seed(make_window, tmp_path, qtbot):
    window = make_window()
    store = make_store(tmp_path)
    day = store.root / "2026-05-06"
    day.mkdir(parents=True)
    a1111_png(day / "odd.png", "Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 99999999999999999999999, Size: 64x64")
    a1111_png(day / "fine.png", "Steps: 21, Sampler: Euler, CFG scale: 7, Seed: 4242, Size: 64x64")
    integration = install_gallery(window, store)
    gallery = integration.gallery
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 2, timeout=TIMEOUT)
    rows = {gallery.model.entry(row).name: row for row in range(2)}
    gallery.list.setCurrentIndex(gallery.model.index(rows["fine.png"]))
    gallery.use_all.click()  # the control: a seed that fits is kept, locked
    assert window.parameters.seed_mode_key() == "locked" and window.current_request().seed == 4242
    gallery.list.setCurrentIndex(gallery.model.index(rows["odd.png"]))
    assert not gallery.reuse_seed.isEnabled()
    gallery.use_all.click()
    assert window.parameters.steps.value() == 20
    assert window.parameters.seed_mode_key() == "random"
    assert "no seed this app can use" in window.banner.message()


def test_reuse_seed_past_the_seed_box_says_what_it_became(make_window):
    window = make_window()
    box = window.parameters.seed
    window.apply_seed(box.maximum())  # the control: a seed that fits says nothing
    assert window.banner.isHidden() and box.value() == box.maximum()
    window.apply_seed(box.maximum() + 5)
    assert f"Seed {box.maximum() + 5} became {box.value()}" in window.banner.message()
