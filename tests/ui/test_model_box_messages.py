"""What the model box and the status bar say around loads (issue 20 §6): the CPU note names the model's
own image size and comes once per app start; a folder that failed to load leaves the Model box (or
is marked there when no model is left); "(kept: …)" goes once a run has used the kept model."""
from __future__ import annotations

import pytest

from aae_desktop.engine.models.model_library import ModelLibrary


@pytest.fixture
def controlled(make_window, tmp_path, monkeypatch):
    from aae_desktop.ui.models.model_controls import ModelControls

    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))

    def make():
        window = make_window()
        controls = ModelControls(window, ModelLibrary(), cache_dir=str(tmp_path / "empty-cache"))
        return window, controls

    return make


def _load(qtbot, window, controls, source):
    with qtbot.waitSignal(controls.described, timeout=15000):
        window.request_model_load(source)


def test_the_cpu_note_names_the_models_size_and_comes_once(controlled, qtbot):
    window, controls = controlled()
    _load(qtbot, window, controls, "/models/juggernaut-sdxl")  # the fake engine: an SDXL model on the CPU
    assert "Runs on the CPU: a 1024 px image takes minutes" in window.banner.message()
    assert "512 px" not in window.banner.message()
    window.banner.hide()
    _load(qtbot, window, controls, "/models/dreamshaper")  # SD 1.x, still on the CPU
    # Said once per app start is enough: the banner stays hidden (or says something else).
    assert not window.banner.isVisible() or "Runs on the CPU" not in window.banner.message()
    # Control: a fresh start (a new window) says it again, with the SD 1.x size.
    window2, controls2 = controlled()
    _load(qtbot, window2, controls2, "/models/dreamshaper")
    assert "Runs on the CPU: a 512 px image takes minutes" in window2.banner.message()


def test_a_folder_that_failed_to_load_leaves_the_model_box(controlled, qtbot):
    window, controls = controlled()
    _load(qtbot, window, controls, "/models/good")
    with qtbot.waitSignal(window.worker.failed, timeout=10000):
        window.request_model_load("/models/broken-folder")
    qtbot.waitUntil(lambda: "(kept" in window.model_status.text(), timeout=5000)
    combo = window.model_combo
    assert combo.currentData() == "/models/good"
    assert combo.findData("/models/broken-folder") < 0
    assert all("broken" not in combo.itemText(i) for i in range(combo.count()))


def test_a_failed_folder_with_no_model_left_is_marked(controlled, qtbot):
    window, controls = controlled()
    with qtbot.waitSignal(window.worker.failed, timeout=10000):
        window.request_model_load("/models/broken-folder")
    combo = window.model_combo
    qtbot.waitUntil(lambda: "failed to load" in combo.currentText(), timeout=5000)
    assert combo.currentData() == "/models/broken-folder"  # what Generate would try, and the box says it failed


def test_the_kept_note_goes_after_a_successful_run(controlled, qtbot, fake_engine):
    window, controls = controlled()
    _load(qtbot, window, controls, "/models/good")
    with qtbot.waitSignal(window.worker.failed, timeout=10000):
        window.request_model_load("/models/broken-folder")
    qtbot.waitUntil(lambda: "(kept" in window.model_status.text(), timeout=5000)
    kept_text = window.model_status.text()
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate()
    assert fake_engine.runs[-1].model == "/models/good"
    assert "(kept" not in window.model_status.text()
    assert window.model_status.text() == kept_text.split(" (kept")[0]  # the model's own line stays
