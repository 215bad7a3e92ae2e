"""The window warns of a very long render on the CPU, with an estimate, before its first step: at
Generate when the model is loaded, and as soon as it is when the run loads it (engine/run/cpu_time_estimate.py)."""
from __future__ import annotations

TIMEOUT = 15_000


def _prepare(window, size: int, steps: int = 20) -> None:
    window.prompt_editor.set_prompt("a cat and a frog")
    window.prompt_editor.set_word_selected(1, True)
    window.parameters.steps.setValue(steps)
    window.parameters.width.setValue(size)
    window.parameters.height.setValue(size)


def _banner_at_first_step(window) -> list[str]:
    seen: list[str] = []
    window.worker.progressed.connect(lambda _p: seen.append(window.banner.message() if window.banner.isVisible()
                                                            else "") if not seen else None)
    return seen


def test_a_2048_px_render_on_the_cpu_warns_before_its_first_step(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.worker.model_loaded, timeout=TIMEOUT) as loaded:
        window.request_model_load("fake-model-folder")
    assert loaded.args[0].device == "cpu"  # the fake engine's
    _prepare(window, window.parameters.width.maximum())
    seen = _banner_at_first_step(window)
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate()
    size = window.parameters.width.maximum()
    assert seen and "This render will take at least" in seen[0]
    assert f"on the CPU ({size}×{size} px, 20 steps" in seen[0]


def test_the_warning_comes_once_the_run_has_loaded_its_model(make_window, qtbot):
    window = make_window()
    window._set_model_source("fake-model-folder")  # chosen, not loaded: the device is not known yet
    _prepare(window, window.parameters.width.maximum())
    seen = _banner_at_first_step(window)
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate()
    assert seen and "This render will take at least" in seen[0]


def test_a_usual_size_runs_without_a_warning(make_window, qtbot):  # the control
    window = make_window()
    window._set_model_source("fake-model-folder")
    _prepare(window, 512)
    seen = _banner_at_first_step(window)
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate()
    assert seen == [""]
