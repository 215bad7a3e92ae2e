"""Memory options (VAE slicing, VAE tiling, model CPU offload hooks) keep Attend-and-Excite's attention capture working."""
from __future__ import annotations

import numpy as np
import pytest

from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.engine.models.tiny_model import tiny_pipeline

# Short on purpose (the suite runs on 2 shared cores) but it still runs excite updates and refinement.
REQUEST = GenerationRequest(
    model="tiny-random", prompt="a cat and a frog", seed=11, steps=3, width=128, height=128,
    excite=ExciteSettings(token_indices=(2, 5), max_iter_to_alter=2, thresholds=((0, 0.05),), max_refinement_steps=1),
)


def _model(**options):
    return wrap_pipeline(tiny_pipeline(seed=0), "tiny-random", LoadOptions(device="cpu", precision="fp32", **options))


@pytest.fixture(scope="module")
def baseline():
    return generate(_model(), REQUEST).images[0]


def _assert_same_attention(result, baseline):
    assert set(result.attention_maps) == {2, 5}
    for index, expected in baseline.attention_maps.items():
        got = result.attention_maps[index]
        assert got.shape == expected.shape and np.isfinite(got).all()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert [r.loss for r in result.loss_history] == pytest.approx([r.loss for r in baseline.loss_history], rel=1e-4)


def test_vae_tiling_keeps_capture(baseline):
    model = _model(vae_tiling=True)
    assert model.pipe.vae.use_tiling
    # The tiny VAE's default tile is the whole 128 px image; shrink it so tiles really are decoded.
    model.pipe.vae.tile_sample_min_size = 64
    model.pipe.vae.tile_latent_min_size = 8
    image = generate(model, REQUEST).images[0]
    _assert_same_attention(image, baseline)  # tiling is VAE-only: the UNet and its attention are untouched
    assert image.image.size == baseline.image.size
    assert not np.array_equal(np.asarray(image.image), np.asarray(baseline.image))  # tiles blend: it did tile


def test_vae_slicing_with_model_cpu_offload_hooks_keep_capture(baseline):
    # The low-memory combination. wrap_pipeline enables offload only on an accelerator; the same
    # accelerate hooks are installed here with device="cpu" so the attention processors run behind
    # them on this CPU-only machine.
    pipe = tiny_pipeline(seed=0)
    pipe.enable_model_cpu_offload(device="cpu")
    assert hasattr(pipe.unet, "_hf_hook")
    options = LoadOptions(device="cpu", precision="fp32", cpu_offload=True, vae_slicing=True)
    model = wrap_pipeline(pipe, "tiny-random", options)
    assert model.pipe.vae.use_slicing
    image = generate(model, REQUEST).images[0]
    _assert_same_attention(image, baseline)
    assert np.array_equal(np.asarray(image.image), np.asarray(baseline.image))
    # Processors are restored afterwards, hooks and all.
    assert all(type(p).__name__ != "CapturingCrossAttnProcessor" for p in pipe.unet.attn_processors.values())
