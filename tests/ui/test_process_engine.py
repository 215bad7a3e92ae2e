"""The window's engine process across model switches: a file that cannot load is refused inside that
process with the current model still loaded, and switching models frees the old one there without
starting a new process (a device that holds one model can switch; no fresh torch import per switch)."""
from __future__ import annotations

import pytest

from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.ui.run.engine_port import ProcessEngine
from aae_desktop.ui.run.worker import WorkerController

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
CPU = LoadOptions(device="cpu", precision="fp32")
TIMEOUT = int(__import__("os").environ.get("AAE_TEST_TIMEOUT", 600_000))  # the first call spawns the engine process, which imports torch


@pytest.fixture
def engine():
    engine = ProcessEngine()
    yield engine
    engine.close()


def _request(model: str) -> GenerationRequest:
    return GenerationRequest(model=model, prompt="a cat and a frog", steps=2, width=64, height=64,
                             excite=ExciteSettings(enabled=False))


def test_check_runs_in_the_engine_process_and_keeps_the_model(engine, tiny_model_dir, tmp_path):
    info = engine.load(str(tiny_model_dir), CPU)
    pid = engine._process.pid
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError):
        engine.check(str(broken), CPU)
    result = engine.generate(info, _request(str(tiny_model_dir)), None, None)
    assert len(result.images) == 1
    assert engine._process.pid == pid


def test_switching_models_reuses_the_engine_process(engine, tiny_model_dir, tmp_path, qtbot):
    from aae_desktop.engine.models.tiny_model import save_tiny_model

    other = save_tiny_model(tmp_path / "other-tiny", seed=1)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    controller = WorkerController(engine)
    try:
        with qtbot.waitSignal(controller.model_loaded, timeout=TIMEOUT):
            controller.load_model(str(tiny_model_dir), CPU)
        pid = engine._process.pid

        with qtbot.waitSignal(controller.failed, timeout=TIMEOUT) as failed:
            controller.load_model(str(broken), CPU)
        assert failed.args[0].model_kept
        assert engine._process.pid == pid

        with qtbot.waitSignal(controller.model_loaded, timeout=TIMEOUT) as loaded:
            controller.load_model(str(other), CPU)
        assert loaded.args[0].source == str(other)
        assert engine._process.pid == pid  # freed and loaded in the same process

        with qtbot.waitSignal(controller.finished, timeout=TIMEOUT) as finished:
            controller.submit(_request(str(other)), CPU)
        assert len(finished.args[0].result.images) == 1
    finally:
        assert controller.shutdown(timeout_ms=60_000)
    assert engine._process._process is None  # the window closing ends the engine process


def test_a_failed_start_leaves_nothing_half_made(monkeypatch):
    """A process that could not start (e.g. spawned from an unguarded __main__) must not break close()
    at window close, nor keep the next request from starting a process."""
    import multiprocessing.context

    from aae_desktop.engine.run.engine_process import EngineProcess

    def refuse(self):
        raise RuntimeError("could not start")

    engine = EngineProcess()
    with monkeypatch.context() as patch:
        patch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
        with pytest.raises(RuntimeError):
            engine.check("/nowhere", CPU)
    engine.close()  # raised AttributeError on a None pipe before the fix
    assert engine.pid is None


def test_a_second_cancel_ends_the_engine_process_and_the_run_counts_as_cancelled(engine, tiny_model_dir, qtbot):
    """One UNet call on a huge image can last minutes on a CPU, and a cancel waits for it: the second
    Cancel kills the engine process. That is the artist stopping the run, not an engine failure, and
    the next run starts the process again and reloads the model by itself."""
    controller = WorkerController(engine)
    stopped = []
    try:
        with qtbot.waitSignal(controller.model_loaded, timeout=TIMEOUT):
            controller.load_model(str(tiny_model_dir), CPU)
        pid = engine._process.pid
        assert controller.can_stop_at_once
        first_step = []
        controller.progressed.connect(first_step.append)
        controller.cancelled.connect(stopped.append)
        controller.failed.connect(stopped.append)
        controller.submit(_request(str(tiny_model_dir)).replace(steps=500), CPU)
        qtbot.waitUntil(lambda: bool(first_step), timeout=TIMEOUT)
        controller._job.cancel.set()  # a first cancel the engine has not acted on yet
        assert controller.cancel() is True  # the second one ends the process
        qtbot.waitUntil(lambda: bool(stopped), timeout=TIMEOUT)
        assert type(stopped[0]).__name__ == "RunCancelled", stopped[0]

        with qtbot.waitSignal(controller.finished, timeout=TIMEOUT) as finished:
            controller.submit(_request(str(tiny_model_dir)), CPU)
        assert len(finished.args[0].result.images) == 1
        assert engine._process.pid != pid  # a new process, with the model loaded again
        assert stopped[1:] == []  # no failure on the way ("'NoneType' has no attribute 'is_alive'" before)

        loads = []
        real_send = engine._process._conn.send
        engine._process._conn.send = lambda message: (loads.append(type(message).__name__), real_send(message))
        with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
            controller.submit(_request(str(tiny_model_dir)), CPU)
        assert "Load" not in loads  # the new process keeps the model between runs
    finally:
        assert controller.shutdown(timeout_ms=60_000)
