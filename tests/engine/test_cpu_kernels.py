"""On the CPU the UNet's fp32 convolutions skip oneDNN at sizes where that measured faster; the VAE keeps it."""
from __future__ import annotations

import pytest
import torch

from aae_desktop.engine.run.cpu_kernels import native_convolutions, prefers_native_convolutions
from aae_desktop.engine.run.generate import generate
from tests.engine.helpers import small_request

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN")


@pytest.mark.parametrize(("device", "dtype", "latent", "expected"), [
    ("cpu", torch.float32, (32, 32), True),     # 256 px: measured 1.5x faster natively
    ("cpu", torch.float32, (64, 64), True),     # 512 px: measured equal
    ("cpu", torch.float32, (64, 96), False),    # larger: im2col buffers grow with the image
    ("cpu", torch.bfloat16, (32, 32), False),   # oneDNN is the fast path for bf16
    ("cuda", torch.float32, (32, 32), False),
    ("mps", torch.float32, (32, 32), False),
])
def test_native_convolutions_only_for_fp32_cpu_up_to_512px(device, dtype, latent, expected):
    assert prefers_native_convolutions(device, dtype, *latent) is expected


@needs_onednn
def test_setting_is_restored_even_after_an_error():
    assert torch.backends.mkldnn.enabled
    with pytest.raises(RuntimeError):
        with native_convolutions(True):
            assert not torch.backends.mkldnn.enabled
            raise RuntimeError("boom")
    assert torch.backends.mkldnn.enabled
    with native_convolutions(False):
        assert torch.backends.mkldnn.enabled


@needs_onednn
def test_unet_forwards_and_backwards_run_natively_and_the_vae_with_onednn(tiny_model):
    pipe = tiny_model.pipe
    seen = {"unet": set(), "backward": set(), "vae": set()}
    hooks = [pipe.unet.register_forward_pre_hook(lambda *a: seen["unet"].add(torch.backends.mkldnn.enabled)),
             pipe.vae.decoder.register_forward_pre_hook(lambda *a: seen["vae"].add(torch.backends.mkldnn.enabled)),
             # conv_in's input gradient is the last step of every backward pass to the latents.
             pipe.unet.conv_in.register_full_backward_hook(
                 lambda *a: seen["backward"].add(torch.backends.mkldnn.enabled))]
    try:
        generate(tiny_model, small_request(excite={"max_iter_to_alter": 2}))
    finally:
        for hook in hooks:
            hook.remove()
    assert seen == {"unet": {False}, "backward": {False}, "vae": {True}}
    assert torch.backends.mkldnn.enabled
