"""Step previews are PIL images: latent approximations, or VAE-decoded ones when asked for."""
from __future__ import annotations

from PIL import Image

from aae_desktop.engine.run.generate import generate
from tests.engine.helpers import small_request


def test_decoded_previews_are_images_at_full_size(tiny_model):
    events = []
    generate(tiny_model, small_request(steps=4, excite={"enabled": False}), on_step=events.append,
             preview_every=0, decode_preview_every=2)
    previews = [e.preview for e in events if e.preview is not None]
    assert previews and all(isinstance(p, Image.Image) for p in previews)
    assert {p.size for p in previews} == {(128, 128)}  # decoded: the image's size, not the latent's
    assert all(p.mode == "RGB" for p in previews)
