"""Cases 5 and 7: inputs that cannot give an image are refused before any work, naming the flag or field."""
from __future__ import annotations

import threading

import pytest

from aae_desktop.engine.errors import GenerationCancelled, InvalidRequest
from aae_desktop.engine.request import ExciteSettings, GenerationRequest

from .conftest import PROMPT, QUICK, assert_one_line


def render_args(tiny_model_dir, tmp_path, *extra):
    return ["render", "--model", tiny_model_dir, "--prompt", PROMPT, "--tokens", "cat,frog",
            "--out", tmp_path / "out.png", *QUICK, *extra]


# -- case 5: a seed near 2^63 ---------------------------------------------------------------------

def test_seed_plus_batch_past_2_63_is_refused(tiny_model_dir, tmp_path, cli, no_model_load):
    result = cli(*render_args(tiny_model_dir, tmp_path, "--seed", 2**63 - 2, "--num-images", 4))
    assert_one_line(result, 2, "--seed", "--num-images", "2^63")
    assert not list(tmp_path.glob("*.png"))


def test_seed_batch_check_names_fields_its_own_way():
    request = GenerationRequest(model="m", prompt=PROMPT, seed=2**63 - 2, num_images=4,
                                excite=ExciteSettings(enabled=False))
    with pytest.raises(InvalidRequest) as caught:
        request.validate()
    assert caught.value.field == "seed"
    assert "Images" in caught.value.message_for({"seed": "Seed", "num_images": "Images"})
    GenerationRequest(model="m", prompt=PROMPT, seed=2**63 - 4, num_images=4,
                      excite=ExciteSettings(enabled=False)).validate()  # the last seed is 2^63 - 1: fine


# -- case 7: non-finite numbers and absurd sizes ----------------------------------------------------

@pytest.mark.parametrize("flag, value", [
    ("--guidance", "nan"), ("--guidance", "inf"), ("--scale-factor", "nan"), ("--scale-factor", "inf"),
    ("--sigma", "nan"), ("--sigma", "inf"), ("--thresholds", "0:nan"), ("--thresholds", "0:inf"),
])
def test_non_finite_numbers_are_refused_naming_the_flag(tiny_model_dir, tmp_path, cli, no_model_load, flag, value):
    result = cli(*render_args(tiny_model_dir, tmp_path, flag, value))
    assert_one_line(result, 2, flag, "finite")


@pytest.mark.parametrize("flag, value, words", [
    ("--height", 100000, "at most"), ("--width", 8200, "at most"), ("--steps", 100000, "at most"),
])
def test_absurd_sizes_and_steps_are_refused_before_loading(tiny_model_dir, tmp_path, cli, no_model_load,
                                                           flag, value, words):
    result = cli(*render_args(tiny_model_dir, tmp_path, flag, value))
    assert_one_line(result, 2, flag, words)


def test_steps_beyond_the_schedulers_training_steps_are_refused(tiny_components):
    """The model's own limit (here 100 noise levels) applies before any UNet call."""
    from diffusers import PNDMScheduler, StableDiffusionPipeline

    from aae_desktop.engine.run.generate import generate
    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    components = dict(tiny_components)
    components["scheduler"] = PNDMScheduler.from_config(tiny_components["scheduler"].config, num_train_timesteps=100)
    pipe = StableDiffusionPipeline(**components, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    model = wrap_pipeline(pipe, "tiny", LoadOptions(device="cpu", precision="fp32"))
    request = GenerationRequest(model="tiny", prompt=PROMPT, steps=150, width=64, height=64,
                                excite=ExciteSettings(enabled=False))
    calls = []
    original_forward = pipe.unet.forward
    pipe.unet.forward = lambda *a, **k: calls.append(1) or original_forward(*a, **k)
    try:
        with pytest.raises(InvalidRequest) as caught:
            generate(model, request)
    finally:
        pipe.unet.forward = original_forward
    assert caught.value.field == "steps" and "100" in str(caught.value) and calls == []


def test_a_size_the_device_cannot_hold_is_refused_before_any_work(tiny_model, monkeypatch):
    from aae_desktop.engine.run import memory_estimate
    from aae_desktop.engine.run.generate import generate

    monkeypatch.setattr(memory_estimate, "device_memory_bytes", lambda device: 2 * 1024**3)
    request = GenerationRequest(model="tiny", prompt=PROMPT, width=4096, height=4096, steps=2,
                                excite=ExciteSettings(enabled=False))
    monkeypatch.setattr(tiny_model.pipe, "encode_prompt", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(InvalidRequest) as caught:
        generate(tiny_model, request)
    assert caught.value.field == "size"
    text = caught.value.message_for({"size": "--width/--height"})
    assert text.startswith("--width/--height 4096 × 4096") and "GB" in text


def test_cli_names_size_flags_when_the_device_is_too_small(tiny_model_dir, tmp_path, cli, monkeypatch):
    from aae_desktop.engine.run import memory_estimate

    monkeypatch.setattr(memory_estimate, "device_memory_bytes", lambda device: 256 * 1024**2)
    result = cli(*render_args(tiny_model_dir, tmp_path, "--width", 2048, "--height", 2048, "--device", "cpu"))
    assert_one_line(result, 2, "--width/--height 2048 × 2048", "memory")


def test_a_cancel_before_the_start_does_no_work(tiny_model, monkeypatch):
    """Esc / Ctrl-C that arrives while the run waits (e.g. for the model load) costs nothing more."""
    from aae_desktop.engine.run.generate import generate

    cancel = threading.Event()
    cancel.set()
    monkeypatch.setattr(tiny_model.pipe, "encode_prompt", lambda *a, **k: pytest.fail("text encoding started"))
    request = GenerationRequest(model="tiny", prompt=PROMPT, width=64, height=64, steps=2,
                                excite=ExciteSettings(enabled=False))
    with pytest.raises(GenerationCancelled):
        generate(tiny_model, request, cancel=cancel)


@pytest.mark.parametrize("excite", [True, False])
def test_a_cancel_during_the_setup_acts_before_the_first_unet_call(tiny_model, monkeypatch, excite):
    from aae_desktop.engine.run.generate import generate

    cancel = threading.Event()
    original = tiny_model.pipe.encode_prompt

    def encode_then_cancel(*args, **kwargs):
        cancel.set()  # the user pressed Esc / Ctrl-C during the setup
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny_model.pipe, "encode_prompt", encode_then_cancel)
    monkeypatch.setattr(tiny_model.pipe.unet, "forward", lambda *a, **k: pytest.fail("a UNet call started"))
    request = GenerationRequest(model="tiny", prompt=PROMPT, width=64, height=64, steps=2,
                                excite=ExciteSettings(enabled=excite, token_indices=(2,), max_iter_to_alter=1,
                                                      thresholds=((0, 0.05),)))
    with pytest.raises(GenerationCancelled):
        generate(tiny_model, request, cancel=cancel)


def test_window_names_its_own_fields(make_window, qtbot):
    """The banner says "Thresholds", the label the artist sees, not the engine's field name."""
    window = make_window()
    window.prompt_editor.set_prompt(PROMPT, "", (2,))
    window._set_model_source("fake-model")
    window.parameters.excite.thresholds.setText("0:nan")
    window.generate()
    assert window.banner.isVisible() and window.banner.kind == "error"
    assert "Thresholds" in window.banner.message() and "finite" in window.banner.message()
    assert not window.worker.busy


def test_a_refusal_from_the_engine_process_still_names_the_window_field():
    """The engine runs in its own process: its InvalidRequest is pickled on the way to the window."""
    import pickle

    error = InvalidRequest("{field} 4096 × 4096 needs about 40 GB of memory.", "size")
    again = pickle.loads(pickle.dumps(error))
    assert again.field == "size" and again.message_for({"size": "Size"}).startswith("Size 4096 × 4096")
