"""An A1111 image whose seed this app cannot use (missing, not a whole number, out of 0..2^63-1)
restores with no seed -- the window then draws a random one -- not with seed 0, which would pass
off one particular composition as the image's own."""
from __future__ import annotations

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.gallery.index import entry_for_file
from aae_desktop.gallery.metadata import restore_from_png

TEXT = "a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, {seed}Size: 64x64"


def a1111_png(path, seed_field: str):
    info = PngInfo()
    info.add_text("parameters", TEXT.format(seed=seed_field))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("seed_field", ["Seed: 99999999999999999999999, ", "Seed: 1e999, ", "Seed: -5, ",
                                        "Seed: 12.5, ", "Seed: lucky, ", ""])
def test_an_unusable_seed_restores_as_no_seed(tmp_path, seed_field):
    path = a1111_png(tmp_path / "x.png", seed_field)
    restored = restore_from_png(path)
    assert restored.source == "a1111" and restored.request.prompt == "a dog" and restored.request.steps == 20
    assert restored.seed_known is False
    assert entry_for_file(path).seed is None  # the gallery lists it without a seed ("Reuse seed" greyed)


@pytest.mark.parametrize("seed", [0, 77, 2**63 - 1])
def test_a_usable_seed_is_kept(tmp_path, seed):  # the control: the same files with a seed that fits
    path = a1111_png(tmp_path / "x.png", f"Seed: {seed}, ")
    restored = restore_from_png(path)
    assert restored.seed_known is True and restored.request.seed == seed
    assert entry_for_file(path).seed == seed
