"""A typed seed is the seed the next run uses (issue 20 §6): in "New random seed each run" mode, typing
a seed switches the mode to Locked and says so; a Generate that is refused leaves the seed alone."""
from __future__ import annotations

from PySide6.QtCore import Qt


def _random_mode_window(make_window, model: str | None = "/models/fake"):
    window = make_window()
    if model:
        window.request_model_load(model)
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    window.parameters.set_seed_mode("random")
    window.parameters.seed.setValue(1234)
    return window


def test_a_typed_seed_is_used_and_kept(make_window, qtbot, fake_engine):
    window = _random_mode_window(make_window)
    line = window.parameters.seed.lineEdit()
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, "6141")
    assert window.parameters.seed_mode_key() == "locked"  # visibly: the mode box changed
    assert "Locked" in window.statusBar().currentMessage()  # and says so
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate_action.trigger()  # Ctrl+Enter
    assert fake_engine.runs[-1].seed == 6141
    assert window.parameters.seed.value() == 6141


def test_the_arrows_choose_a_seed_too(make_window, qtbot):
    window = _random_mode_window(make_window)
    qtbot.keyClick(window.parameters.seed, Qt.Key.Key_Up)
    assert window.parameters.seed.value() == 1235 and window.parameters.seed_mode_key() == "locked"


def test_a_restored_seed_does_not_count_as_typed(make_window):
    window = _random_mode_window(make_window)
    window.parameters.seed.setValue(99)  # what restores and the seed grid do: the mode is theirs to set
    assert window.parameters.seed_mode_key() == "random"


def test_a_refused_generate_leaves_the_seed_alone(make_window, qtbot, fake_engine):
    window = _random_mode_window(make_window, model=None)
    window.generate()
    assert "Choose a model first" in window.banner.message()
    assert window.parameters.seed.value() == 1234 and not fake_engine.runs
    # Control: a Generate that runs draws a new seed, and the box shows the one it used.
    window.request_model_load("/models/fake")
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate()
    assert window.parameters.seed.value() == fake_engine.runs[-1].seed
    assert window.parameters.seed_mode_key() == "random"
