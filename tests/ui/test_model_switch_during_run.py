"""Choosing another model during a run (issue 20 §6): the run keeps the model it started with, the
status bar says the switch comes after this run, and the new model loads once the run is over."""
from __future__ import annotations


def test_a_model_chosen_mid_run_loads_after_the_run_and_says_so(make_window, qtbot, fake_engine):
    fake_engine.step_seconds = 0.05
    window = make_window()
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        window.request_model_load("/models/first")
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    window.parameters.steps.setValue(20)
    order: list[str] = []
    window.worker.finished.connect(lambda _p: order.append("run finished"))
    window.worker.model_load_started.connect(lambda p: order.append(f"load {p.source}"))
    window.generate()
    qtbot.waitUntil(fake_engine.step_started.is_set, timeout=10000)
    before = window.model_status.text()

    index = window.model_combo.count()
    window.model_combo.addItem("second", "/models/second")
    window.model_combo.activated.emit(index)  # what choosing it in the Model box does

    assert window.worker.busy
    status = window.model_status.text()
    assert status.startswith(before) and "second" in status and "after this run" in status
    with qtbot.waitSignal(window.worker.model_loaded, timeout=15000) as loaded:
        pass
    assert loaded.args[0].source == "/models/second"
    assert order == ["run finished", "load /models/second"]
    assert fake_engine.runs[0].model == "/models/first"
    assert "after this run" not in window.model_status.text()


def test_choosing_the_running_model_again_says_nothing(make_window, qtbot, fake_engine):
    fake_engine.step_seconds = 0.05
    window = make_window()
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        window.request_model_load("/models/first")
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    window.parameters.steps.setValue(10)
    window.generate()
    qtbot.waitUntil(fake_engine.step_started.is_set, timeout=10000)
    before = window.model_status.text()
    window.model_combo.activated.emit(window.model_combo.findData("/models/first"))
    assert window.model_status.text() == before
    # Another model, then back to the running one: the note goes again.
    window.request_model_load("/models/second")
    assert "second after this run" in window.model_status.text()
    window.request_model_load("/models/first")
    assert window.model_status.text() == before
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        pass
