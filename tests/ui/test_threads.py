"""The thread-leak guard itself, and the worker thread's life cycle."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QThread

from aae_desktop.ui.run.worker import WorkerController


def test_guard_detects_a_running_qthread(no_dangling_qthreads):
    thread = QThread()
    thread.start()
    try:
        # The guard's list is what its teardown checks; a running thread in it fails the test.
        assert thread in no_dangling_qthreads and thread.isRunning()
    finally:
        thread.quit()
        assert thread.wait(5000)


def test_controller_shutdown_stops_its_thread(fake_engine, qtbot):
    controller = WorkerController(fake_engine)
    assert controller.is_running()
    assert controller.shutdown(timeout_ms=5000)
    assert not controller.is_running()


def test_submit_while_busy_is_refused(fake_engine, qtbot):
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.engine.request import GenerationRequest

    fake_engine.step_seconds = 0.05
    controller = WorkerController(fake_engine)
    request = GenerationRequest(model="m", prompt="a cat", steps=100, width=64, height=64).with_excite(enabled=False)
    try:
        controller.submit(request, LoadOptions())
        with pytest.raises(RuntimeError):
            controller.submit(request, LoadOptions())
    finally:
        controller.shutdown(timeout_ms=5000)


def test_controller_is_idle_when_end_signals_arrive(fake_engine, qtbot):
    """Whoever hears finished/cancelled may submit the next run at once: busy must already be off."""
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.engine.request import GenerationRequest

    # Steps that take a moment, so cancel() always lands before a two-step fake run could finish
    # (without it, a busy machine could finish the run first and the test waited for "cancelled" in vain).
    fake_engine.step_seconds = 0.05
    controller = WorkerController(fake_engine)
    seen = []
    controller.finished.connect(lambda _p: seen.append(controller.busy))
    controller.cancelled.connect(lambda _p: seen.append(controller.busy))
    request = GenerationRequest(model="m", prompt="a cat", steps=2, width=64, height=64).with_excite(enabled=False)
    try:
        with qtbot.waitSignal(controller.finished, timeout=10000):
            controller.submit(request, LoadOptions())
        # Slow steps, so the 2-step run cannot finish in the moment between submit() and cancel().
        fake_engine.step_seconds = 5.0
        with qtbot.waitSignal(controller.cancelled, timeout=10000):
            controller.submit(request, LoadOptions())
            controller.cancel()
    finally:
        controller.shutdown(timeout_ms=5000)
    assert seen == [False, False]
