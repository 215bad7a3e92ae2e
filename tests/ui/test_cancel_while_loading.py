"""Cancel twice while the model loads (issue 20 §5): that is a cancel, not "Generation failed -- the engine
process stopped unexpectedly (exit code -15)"; the window says no model is loaded; no traceback is logged.
And each stopped engine process leaves no system semaphore behind ("N leaked semaphore objects" at exit)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aae_desktop.ui.run.engine_port import ProcessEngine

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
TIMEOUT = int(os.environ.get("AAE_TEST_TIMEOUT", 600_000))  # the first call spawns the engine process


@pytest.fixture
def engine():
    engine = ProcessEngine()
    yield engine
    engine.close()


def _engine_process_running(engine) -> bool:
    process = engine._process._process
    return process is not None and process.is_alive()


def test_cancel_twice_during_loading_model_is_a_cancel(make_window, engine, tiny_model_dir, qtbot, caplog):
    caplog.set_level(logging.INFO)
    window = make_window(engine=engine)
    window._set_model_source(str(tiny_model_dir))  # remembered, not loaded yet
    window.prompt_editor.set_prompt("a cat and a frog")
    window.prompt_editor.set_word_selected(1, True)
    window.parameters.steps.setValue(2)
    window.parameters.width.setValue(64)
    window.parameters.height.setValue(64)
    ended = []
    window.worker.cancelled.connect(lambda payload: ended.append(("cancelled", payload)))
    window.worker.failed.connect(lambda payload: ended.append(("failed", payload)))
    with qtbot.waitSignal(window.worker.model_load_started, timeout=TIMEOUT):
        window.generate_button.click()
    # The engine process is starting (it imports torch, then loads): the load is under way.
    qtbot.waitUntil(lambda: _engine_process_running(engine), timeout=TIMEOUT)
    assert "Loading model" in window.model_status.text()
    window.cancel_button.click()
    window.cancel_button.click()  # the second stops the engine process at once
    qtbot.waitUntil(lambda: bool(ended), timeout=TIMEOUT)

    kind, payload = ended[0]
    assert kind == "cancelled", f"{payload.title}: {payload.message}"
    assert window.run_status.progress.format() == "Cancelled"
    assert window.model_status.text().startswith("No model loaded")
    assert not window.banner.isVisible()
    tracebacks = [r for r in caplog.records if r.exc_info and r.name.startswith("aae_desktop")]
    assert not tracebacks, tracebacks[0].getMessage()
    assert not window.worker.busy

    # The next Generate loads the model again in a new process and renders.
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate_button.click()
    assert ended[1:] == []


def test_stopped_engine_processes_leave_no_semaphores(tiny_model_dir):
    """Two engine processes stopped at once after loading a model; the resource tracker reports any
    system semaphore they made and never removed when this process exits."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from aae_desktop.engine.run.engine_process import EngineProcess
        from aae_desktop.engine.models.loading import LoadOptions

        if __name__ == "__main__":
            engine = EngineProcess()
            for _ in range(2):
                engine.load({str(tiny_model_dir)!r}, LoadOptions(device="cpu", precision="fp32"))
                process = engine._process
                engine.kill()
                process.join(60)
                engine.unload()  # sees the process gone
            print("stopped twice", flush=True)
    """)
    path = Path(tiny_model_dir).parent / "stop_twice.py"
    path.write_text(script)
    ended = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600)
    assert "stopped twice" in ended.stdout, ended.stderr[-3000:]
    assert "leaked semaphore" not in ended.stderr, ended.stderr[-1000:]
