"""Worker level: a model that fails to load leaves the previous one loaded, and runs keep using it."""
from __future__ import annotations

from aae_desktop.engine.errors import OutOfMemory
from aae_desktop.engine.models import LoadOptions

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

        def load(self, source, options):
            if "huge" in source and self.loaded_now:
                self.loads.append((source, options))
                raise OutOfMemory("cuda")
            model = super().load(source, options)
            self.loaded_now = 1
            return model

        def generate(self, model, request, on_step, cancel):
            self.used.append(model.source)
            return super().generate(model, request, on_step, cancel)

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
    assert [source for source, _ in engine.loads] == ["/models/good", "/models/broken"]


def test_out_of_memory_frees_the_old_model_and_retries_once(qtbot, engine, controller):
    with qtbot.waitSignal(controller.model_loaded, timeout=10000):
        controller.load_model("/models/small", CPU)
    engine.loaded_now = 1
    original_release = controller._worker.release

    def release_and_note():
        original_release()
        engine.loaded_now = 0  # the engine now has room

    controller._worker.release = release_and_note
    with qtbot.waitSignal(controller.model_loaded, timeout=10000) as loaded:
        controller.load_model("/models/huge", CPU)
    assert loaded.args[0].source == "/models/huge"
    assert [source for source, _ in engine.loads] == ["/models/small", "/models/huge", "/models/huge"]


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
