"""fp16/bf16 models keep the Attend-and-Excite update: fp32 master latents, loss scaling, fp32 loss maths."""
from __future__ import annotations

import copy

import pytest
import torch
from diffusers import PNDMScheduler

from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
from diffusers import StableDiffusionPipeline
from tests.engine.helpers import small_request


class _Seen(Exception):
    """Stops the run as soon as the latents after the first excite update have been seen."""


def _model(components, dtype: torch.dtype):
    """The tiny model in `dtype` on the CPU (loaders refuse fp16 there; the dtype path is what is tested)."""
    pipe = StableDiffusionPipeline(**copy.deepcopy(components), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    model = wrap_pipeline(pipe, "tiny-random", LoadOptions(device="cpu", precision="fp32"))
    model.pipe.to(dtype)
    return model


def _first_update(monkeypatch, model, size: int = 128) -> torch.Tensor:
    """The latent change made by step 0's excite update (no refinement), as fp32 numbers.

    Every loop hands the latents to scheduler.scale_model_input right before the guidance
    forward, so that call (the first one without a graph) sees exactly what the excite update produced.
    """
    seen: list[torch.Tensor] = []
    original = PNDMScheduler.scale_model_input

    def record(self, sample, *args, **kwargs):
        # The excite forward scales its input too, and the update reads the step's scale from a 0-d
        # probe; only the guidance forward's latents are wanted.
        if sample.requires_grad or sample.dim() == 0:
            return original(self, sample, *args, **kwargs)
        seen.append(sample[:1].detach().clone())
        raise _Seen

    monkeypatch.setattr(PNDMScheduler, "scale_model_input", record)
    request = small_request(steps=1, width=size, height=size, excite={"thresholds": (), "max_iter_to_alter": 1})
    with pytest.raises(_Seen):
        generate(model, request)
    monkeypatch.setattr(PNDMScheduler, "scale_model_input", original)
    start = torch.randn(seen[0].shape, generator=torch.Generator("cpu").manual_seed(request.seed))
    return (seen[0].float() - start).flatten()


@pytest.fixture(scope="module")
def fp32_update(tiny_model):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _first_update(monkeypatch, tiny_model)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_update_keeps_direction_and_size_of_fp32(monkeypatch, tiny_components, fp32_update, dtype):
    update = _first_update(monkeypatch, _model(tiny_components, dtype))
    assert fp32_update.norm() > 0
    cosine = torch.nn.functional.cosine_similarity(update, fp32_update, dim=0).item()
    size = (update.norm() / fp32_update.norm()).item()
    print(f"{dtype}: cosine {cosine:.5f}, size ratio {size:.5f}")
    assert cosine >= 0.99, f"direction kept: cosine {cosine:.4f}"
    assert 0.99 <= size <= 1.01, f"size kept: ratio {size:.4f}"


def test_fp16_backward_runs_on_a_scaled_loss_so_small_gradients_stay_representable(monkeypatch, tiny_components,
                                                                                    tiny_model):
    # Measured on the 32-64-128-128 random model at 256 px: unscaled, 0.4 % of the fp16 gradient's
    # entries flushed to zero (fp16's smallest subnormal is 6e-8); scaled by 2^12, none did.
    from aae_desktop.engine.run import generate as engine

    def conv_in_gradient(model):
        seen = []
        hook = model.pipe.unet.conv_in.register_full_backward_hook(
            lambda module, grad_in, grad_out: seen.append(grad_out[0].float().abs().max().item()))
        try:
            _first_update(monkeypatch, model)
        finally:
            hook.remove()
        return seen[0]

    ratio = conv_in_gradient(_model(tiny_components, torch.float16)) / conv_in_gradient(tiny_model)
    assert ratio == pytest.approx(engine.FP16_LOSS_SCALE, rel=0.05)


def test_fp16_overflow_lowers_the_scale_and_measures_again(monkeypatch, tiny_components, fp32_update):
    from aae_desktop.engine.run import generate as engine

    monkeypatch.setattr(engine, "FP16_LOSS_SCALE", 2.0 ** 40)  # far past fp16's 65504: the backward overflows
    model = _model(tiny_components, torch.float16)
    forwards = []
    hook = model.pipe.unet.register_forward_pre_hook(lambda *a: forwards.append(1))
    try:
        update = _first_update(monkeypatch, model)
    finally:
        hook.remove()
    assert len(forwards) > 1  # measured again after the overflow
    assert torch.nn.functional.cosine_similarity(update, fp32_update, dim=0).item() >= 0.99
    assert (update.norm() / fp32_update.norm()).item() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_vae_falls_back_to_fp32_when_decoding_gives_nan(monkeypatch, tiny_components, dtype):
    model = _model(tiny_components, torch.float32)
    vae = model.pipe.vae
    vae.to(dtype)
    original = type(vae.decoder).forward

    def overflowing(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        return out * float("inf") if out.dtype == dtype else out

    monkeypatch.setattr(type(vae.decoder), "forward", overflowing)
    image = generate(model, small_request(steps=1, excite={"enabled": False})).images[0].image
    pixels = torch.tensor(list(image.getdata()), dtype=torch.float32)
    assert pixels.std() > 0  # a real image, not a black or NaN one
    assert vae.dtype == torch.float32  # kept upcast for the next images
