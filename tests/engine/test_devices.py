"""Devices and memory: CPU offload end to end, out-of-memory anywhere becomes advice that works there,
fp16 on the CPU, bf16 on older Macs, attention slicing with Attend-and-Excite."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from aae_desktop.engine.models import devices
from aae_desktop.engine.run import memory_advice as advice
from aae_desktop.engine.errors import ModelLoadError, OutOfMemory
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.models.loading import LoadOptions, load_model, wrap_pipeline
from aae_desktop.engine.models.tiny_model import tiny_pipeline
from tests.engine.helpers import small_request

CPU = LoadOptions(device="cpu", precision="fp32")
REQUEST = small_request(steps=3, excite={"max_iter_to_alter": 2, "thresholds": ((0, 0.05),),
                                         "max_refinement_steps": 1})


def _cuda_oom() -> BaseException:
    return getattr(torch, "OutOfMemoryError", RuntimeError)("CUDA out of memory. Tried to allocate 2.00 GiB")


def _pixels(result):
    return np.asarray(result.images[0].image).astype(int)


@pytest.fixture(scope="module")
def plain_result(tiny_model):
    return generate(tiny_model, REQUEST)


# -- CPU offload ---------------------------------------------------------------------------------------

def test_cpu_offload_end_to_end_through_our_loader(monkeypatch, tiny_model_dir, plain_result):
    # Offload is only used on CUDA; here the device check is bypassed so our loader installs
    # accelerate's hooks with the CPU as the execution device, and a whole render runs behind them.
    monkeypatch.setattr(devices, "uses_offload", lambda device, options: options.cpu_offload)
    model = load_model(str(tiny_model_dir), dataclasses.replace(CPU, cpu_offload=True))
    assert hasattr(model.pipe.unet, "_hf_hook") and hasattr(model.pipe.vae, "_hf_hook")
    result = generate(model, REQUEST)
    assert np.array_equal(_pixels(result), _pixels(plain_result))
    assert [r.loss for r in result.images[0].loss_history] == pytest.approx(
        [r.loss for r in plain_result.images[0].loss_history], rel=1e-5)


@pytest.mark.parametrize("device, used", [("cuda", True), ("mps", False), ("cpu", False)])
def test_offload_is_used_only_on_cuda_and_mps_says_why(device, used):
    options = LoadOptions(cpu_offload=True)
    assert devices.uses_offload(device, options) is used
    notes = devices.placement_notes(device, options)
    assert bool(notes) is (device == "mps") and all("shares the computer's memory" in n for n in notes)


# -- out of memory: load, move, offload, generate, decode ----------------------------------------------

def test_out_of_memory_while_reading_the_model(monkeypatch, tiny_model_dir):
    def full(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 3443 bytes")

    monkeypatch.setattr(StableDiffusionPipeline, "from_pretrained", full)
    with pytest.raises(OutOfMemory) as caught:
        load_model(str(tiny_model_dir), CPU)
    assert caught.value.device == "cpu" and "reading the model" in str(caught.value)
    assert caught.value.suggestions == (advice.CLOSE_PROGRAMS,)


@pytest.mark.parametrize("offload", [False, True], ids=["move", "offload-hooks"])
def test_out_of_memory_while_placing_the_model_is_translated_and_the_device_emptied(monkeypatch, offload):
    pipe = tiny_pipeline(seed=0)
    moves = []
    real_to = type(pipe).to

    def to(self, *args, **kwargs):
        target = kwargs.get("device", args[0] if args else None)
        moves.append(str(target))
        if target == "cuda":
            raise _cuda_oom()
        return real_to(self, *args, **kwargs)

    def offload_hooks(self, *args, **kwargs):
        raise _cuda_oom()

    monkeypatch.setattr(type(pipe), "to", to)
    monkeypatch.setattr(type(pipe), "enable_model_cpu_offload", offload_hooks)
    options = LoadOptions(device="cuda", precision="fp16", cpu_offload=offload)
    with pytest.raises(OutOfMemory) as caught:
        devices.place_pipeline(pipe, "cuda", torch.float16, options)
    error = caught.value
    assert error.device == "cuda" and "moving the model" in str(error)
    # Half precision is on already; offload is offered only when it is not on.
    assert advice.FP16 not in error.suggestions
    assert (advice.CPU_OFFLOAD in error.suggestions) is (not offload)
    assert moves[-1] == "cpu"  # what had reached the device was taken off again


def test_bf16_move_failure_on_an_old_mac_is_explained(monkeypatch):
    pipe = tiny_pipeline(seed=0)

    def to(self, *args, **kwargs):
        raise TypeError("BFloat16 is not supported on MPS")

    monkeypatch.setattr(type(pipe), "to", to)
    with pytest.raises(ModelLoadError, match="macOS 14"):
        devices.place_pipeline(pipe, "mps", torch.bfloat16, LoadOptions(device="mps", precision="bf16"))


def test_bf16_is_refused_up_front_before_macos_14(monkeypatch):
    monkeypatch.setattr(devices, "_macos_14_or_newer", lambda: False)
    with pytest.raises(ModelLoadError, match="macOS 14 or newer"):
        devices.resolve_dtype("mps", "bf16")
    monkeypatch.setattr(devices, "_macos_14_or_newer", lambda: True)
    assert devices.resolve_dtype("mps", "bf16") == torch.bfloat16


def _oom_in(module):
    def raise_oom(*args):
        raise _cuda_oom()

    return module.register_forward_pre_hook(raise_oom)


def test_out_of_memory_while_generating_gives_advice_for_the_device(tiny_model):
    on_cuda = dataclasses.replace(tiny_model, device="cuda", dtype="float32")  # same pipeline, advice for CUDA
    hook = _oom_in(tiny_model.pipe.unet)
    try:
        with pytest.raises(OutOfMemory) as caught:
            generate(on_cuda, REQUEST)
    finally:
        hook.remove()
    assert "while generating" in str(caught.value)
    assert caught.value.suggestions == (advice.SMALLER_SIZE, advice.FP16, advice.CPU_OFFLOAD, advice.VAE_TILING)


def test_out_of_memory_while_decoding_puts_vae_tiling_first(tiny_model):
    on_mps = dataclasses.replace(tiny_model, device="mps", dtype="float16")
    hook = _oom_in(tiny_model.pipe.vae.decoder)
    try:
        with pytest.raises(OutOfMemory) as caught:
            generate(on_mps, small_request(steps=1, excite={"enabled": False}))
    finally:
        hook.remove()
    assert "decoding the image" in str(caught.value)
    # Apple GPU: no offload (shared memory), attention slicing instead; fp16 is on already.
    assert caught.value.suggestions == (advice.VAE_TILING, advice.SMALLER_SIZE, advice.ATTENTION_SLICING,
                                        advice.CLOSE_PROGRAMS)


def test_advice_never_offers_what_is_on_or_useless():
    everything = LoadOptions(vae_tiling=True, cpu_offload=True, attention_slicing=True)
    assert advice.suggestions("cuda", everything, "float16") == (advice.SMALLER_SIZE,)
    cpu = advice.suggestions("cpu", LoadOptions(), "float32")
    assert advice.FP16 not in cpu and advice.CPU_OFFLOAD not in cpu  # neither helps on the CPU
    assert "fewer images" not in OutOfMemory("cuda").describe()  # images run one at a time
    for text in ("CUDA out of memory.", "MPS backend out of memory", "DefaultCPUAllocator: can't allocate memory"):
        assert advice.is_out_of_memory(RuntimeError(text))
    assert advice.is_out_of_memory(MemoryError()) and not advice.is_out_of_memory(RuntimeError("shape mismatch"))


# -- precision on the CPU --------------------------------------------------------------------------------

def test_fp16_on_the_cpu_runs_as_fp32_and_says_so():
    model = wrap_pipeline(tiny_pipeline(seed=0), "tiny-random", LoadOptions(device="cpu", precision="fp16"))
    assert model.dtype == "float32" and model.pipe.unet.dtype == torch.float32
    assert any("fp32" in note for note in model.notes)
    assert devices.resolve_dtype("cpu", "bf16") == torch.bfloat16  # bf16 does run well on many CPUs


# -- attention slicing -------------------------------------------------------------------------------------

def test_attention_slicing_keeps_the_capture_and_the_image(plain_result):
    model = wrap_pipeline(tiny_pipeline(seed=0), "tiny-random", dataclasses.replace(CPU, attention_slicing=True))
    processors = {type(p).__name__ for p in model.pipe.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}
    result = generate(model, REQUEST)
    ours, plain = result.images[0], plain_result.images[0]
    assert set(ours.attention_maps) == {2, 5}
    for index, expected in plain.attention_maps.items():
        np.testing.assert_allclose(ours.attention_maps[index], expected, rtol=1e-4, atol=1e-6)
    assert np.abs(_pixels(result) - _pixels(plain_result)).max() <= 1
    # The sliced processors are back after the run.
    assert {type(p).__name__ for p in model.pipe.unet.attn_processors.values()} == {"SlicedAttnProcessor"}


def test_memory_estimate_counts_offload_only_where_it_is_used(tiny_model):
    from aae_desktop.engine.run.memory_estimate import weights_on_device_bytes

    offload = LoadOptions(cpu_offload=True)
    on_mac = weights_on_device_bytes(dataclasses.replace(tiny_model, device="mps", options=offload))
    on_cuda = weights_on_device_bytes(dataclasses.replace(tiny_model, device="cuda", options=offload))
    assert on_mac == weights_on_device_bytes(tiny_model) > on_cuda  # the Apple GPU keeps every weight
