"""Worker level: the current model is freed before the next one loads (a device that holds one model
can switch); a model that fails to load brings the previous one back, and runs keep using it."""
from __future__ import annotations

from aae_desktop.engine.errors import ModelLoadError, OutOfMemory
from aae_desktop.engine.models.loading import LoadOptions

import pytest

CPU = LoadOptions(device="cpu")


@pytest.fixture
def engine(fake_engine):
    """The shared FakeEngine, also remembering which model each run used; 'huge' models only fit alone."""
    base = type(fake_engine)

    class RecordingEngine(base):
        def __init__(self):
            super().__init__()
            self.used: list[str] = []
            self.loaded_now = 0
            self.load_fails_for: set[str] = set()

        def load(self, source, options):
            if "huge" in source and self.loaded_now or source in self.load_fails_for:
                self.loads.append((source, options))
                raise OutOfMemory("cuda")
            model = super().load(source, options)
            self.loaded_now = 1
            return model

        def generate(self, model, request, on_step, cancel, on_image=None):
            self.used.append(model.source)
            return super().generate(model, request, on_step, cancel, on_image)

    return RecordingEngine()


@pytest.fixture
def controller(engine):
    from aae_desktop.ui.run.worker import WorkerController

    controller = WorkerController(engine)
    yield controller
    assert controller.shutdown(timeout_ms=5000)


def test_failed_load_keeps_the_previous_model(qtbot, engine, controller):
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest

    with qtbot.waitSignal(controller.model_loaded, timeout=10000):
        controller.load_model("/models/good", CPU)
    with qtbot.waitSignal(controller.failed, timeout=10000) as failed:
        controller.load_model("/models/broken", CPU)
    assert failed.args[0].kind == "model" and "broken" in failed.args[0].message
    # A run for the good model reuses it: no reload, and it is the model the run gets.
    request = GenerationRequest(model="/models/good", prompt="a cat", seed=1, steps=2, width=64, height=64,
                                excite=ExciteSettings(enabled=False))
    with qtbot.waitSignal(controller.finished, timeout=10000):
        controller.submit(request, CPU)
    assert engine.used == ["/models/good"]
    # The good model was freed for the broken one, then reloaded from disk when that failed.
    assert [source for source, _ in engine.loads] == ["/models/good", "/models/broken", "/models/good"]
    assert failed.args[0].while_loading and failed.args[0].model_kept


def test_a_model_that_only_fits_alone_loads_because_the_old_one_is_freed_first(qtbot, engine, controller):
    with qtbot.waitSignal(controller.model_loaded, timeout=10000):
        controller.load_model("/models/small", CPU)
    original_release = controller._worker.release

    def release_and_note():
        original_release()
        engine.loaded_now = 0  # the engine now has room

    controller._worker.release = release_and_note
    with qtbot.waitSignal(controller.model_loaded, timeout=10000) as loaded:
        controller.load_model("/models/huge", CPU)
    assert loaded.args[0].source == "/models/huge"
    assert [source for source, _ in engine.loads] == ["/models/small", "/models/huge"]  # one try, no retry


def test_a_source_that_fails_its_checks_never_costs_the_current_model(qtbot, engine, controller):
    checked = []

    def check(source, options):
        checked.append(source)
        if "missing" in source:
            raise ModelLoadError(f"Model not found: {source}")

    engine.check = check
    with qtbot.waitSignal(controller.model_loaded, timeout=10000):
        controller.load_model("/models/good", CPU)
    with qtbot.waitSignal(controller.failed, timeout=10000) as failed:
        controller.load_model("/models/missing", CPU)
    assert "not found" in failed.args[0].message and failed.args[0].model_kept
    assert checked == ["/models/good", "/models/missing"]
    assert [source for source, _ in engine.loads] == ["/models/good"]  # neither freed nor reloaded


def test_when_the_previous_model_cannot_come_back_the_failure_says_none_is_loaded(qtbot, engine, controller):
    with qtbot.waitSignal(controller.model_loaded, timeout=10000):
        controller.load_model("/models/good", CPU)
    engine.load_fails_for = {"/models/good"}  # e.g. its file was deleted meanwhile
    with qtbot.waitSignal(controller.failed, timeout=10000) as failed:
        controller.load_model("/models/broken", CPU)
    assert failed.args[0].kind == "model" and not failed.args[0].model_kept


def test_real_engine_keeps_the_model_when_a_corrupt_checkpoint_fails(qtbot, tiny_model_dir, tmp_path):
    from aae_desktop.engine.request import ExciteSettings, GenerationRequest
    from aae_desktop.ui.run.engine_port import DiffusersEngine
    from aae_desktop.ui.run.worker import WorkerController

    controller = WorkerController(DiffusersEngine())
    try:
        started = []
        controller.model_load_started.connect(lambda p: started.append(p.source))
        with qtbot.waitSignal(controller.model_loaded, timeout=60000):
            controller.load_model(str(tiny_model_dir), CPU)
        corrupt = tmp_path / "corrupt.safetensors"
        corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
        with qtbot.waitSignal(controller.failed, timeout=60000) as failed:
            controller.load_model(str(corrupt), CPU)
        assert "not a readable .safetensors" in failed.args[0].message
        request = GenerationRequest(model=str(tiny_model_dir), prompt="a cat", seed=1, steps=2, width=64, height=64,
                                    excite=ExciteSettings(enabled=False))
        with qtbot.waitSignal(controller.finished, timeout=60000) as finished:
            controller.submit(request, CPU)
        assert finished.args[0].result.images[0].image.size == (64, 64)
        assert started == [str(tiny_model_dir), str(corrupt)]  # the run reused the kept model
    finally:
        assert controller.shutdown(timeout_ms=10000)


def test_real_engine_out_of_memory_while_moving_brings_the_previous_model_back(qtbot, tiny_model_dir, monkeypatch):
    import torch
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.request import ExciteSettings, GenerationRequest
    from aae_desktop.ui.run.engine_port import DiffusersEngine
    from aae_desktop.ui.run.worker import WorkerController

    real_to = StableDiffusionPipeline.to
    full = {"once": False}

    def to(self, *args, **kwargs):
        if full["once"]:
            full["once"] = False
            raise getattr(torch, "OutOfMemoryError", RuntimeError)("CUDA out of memory. Tried to allocate 20 MiB")
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionPipeline, "to", to)
    controller = WorkerController(DiffusersEngine())
    try:
        with qtbot.waitSignal(controller.model_loaded, timeout=60000):
            controller.load_model(str(tiny_model_dir), CPU)
        full["once"] = True
        other = str(tiny_model_dir / "model_index.json")  # another source (same weights, to stay quick)
        with qtbot.waitSignal(controller.failed, timeout=60000) as failed:
            controller.load_model(other, CPU)
        payload = failed.args[0]
        assert payload.kind == "out_of_memory" and payload.while_loading and payload.model_kept
        assert "moving the model" in payload.message and "offload" not in payload.message  # no offload on a CPU
        request = GenerationRequest(model=str(tiny_model_dir), prompt="a cat", seed=1, steps=2, width=64, height=64,
                                    excite=ExciteSettings(enabled=False))
        with qtbot.waitSignal(controller.finished, timeout=60000) as finished:
            controller.submit(request, CPU)
        assert finished.args[0].result.images[0].image.size == (64, 64)
    finally:
        assert controller.shutdown(timeout_ms=10000)
