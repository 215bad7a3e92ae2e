"""Model controls on the main window: first run, recent list, failure keeps the model, SD 2.x question, options, info."""
from __future__ import annotations

import pytest

from aae_desktop.engine.models.model_library import ModelLibrary


@pytest.fixture
def library(tmp_path, monkeypatch):
    # The engine reads remembered families from the default library: point both at tmp.
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "config" / "settings.json"))
    return ModelLibrary()


@pytest.fixture
def controlled(make_window, library, tmp_path):
    from aae_desktop.ui.models.model_controls import ModelControls

    def make(engine=None):
        window = make_window(engine=engine)
        controls = ModelControls(window, library, cache_dir=str(tmp_path / "empty-cache"))
        controls.pick_checkpoint = lambda parent, start="": ""
        return window, controls

    return make


def _load(qtbot, window, controls, source):
    with qtbot.waitSignal(controls.described, timeout=15000):
        window.request_model_load(source)


def test_menu_entries_and_first_run(controlled, qtbot):
    from aae_desktop.ui.models.model_dialog import FirstRunDialog

    window, controls = controlled()
    texts = [a.text() for a in window.model_menu.actions()]
    for expected in ("Open model &folder…", "Open &checkpoint file…", "From &Hugging Face cache…",
                     "&Download a model…", "&Device and memory…", "Model &info…", "&Recent models"):
        assert expected in texts
    assert controls.offer_first_run()
    assert isinstance(controls.active_dialog, FirstRunDialog)
    controls.active_dialog.reject()


def test_loaded_model_is_remembered_and_described(controlled, qtbot, library, tiny_model_dir):
    window, controls = controlled()
    _load(qtbot, window, controls, str(tiny_model_dir))
    assert [r.source for r in library.recent()] == [str(tiny_model_dir)]
    assert library.recent()[0].family == "sd1" and library.recent()[0].kind == "diffusers folder"
    assert "SD 1.x" in window.model_status.text()
    assert "Runs on the CPU" in window.banner.message()  # the fake engine is on the CPU: one line says it is slow
    assert not controls.offer_first_run()  # a model is configured now
    # A new window lists the recent model in its combo without loading it.
    window2, _ = controlled()
    assert window2.model_combo.findData(str(tiny_model_dir)) >= 0
    assert window2.model_combo.itemText(window2.model_combo.findData(str(tiny_model_dir))) == "fake-model  ·  SD 1.x"
    assert window.model_combo.currentText() == "fake-model  ·  SD 1.x"  # the family shows where the model is chosen
    controls.show_info()
    rows = {k: v.text() for k, v in controls.active_dialog.values.items()}
    assert rows["Family"] == "SD 1.x" and rows["Kind"] == "diffusers folder" and rows["Source"] == str(tiny_model_dir)


def test_a_failed_load_keeps_and_shows_the_previous_model(controlled, qtbot, fake_engine, tiny_model_dir):
    window, controls = controlled()
    _load(qtbot, window, controls, str(tiny_model_dir))
    with qtbot.waitSignal(window.worker.failed, timeout=10000):
        window.request_model_load("/models/broken-model")
    assert window.model_source == str(tiny_model_dir)
    assert window.model_combo.currentData() == str(tiny_model_dir)
    assert "(kept" in window.model_status.text()
    assert window.banner.isVisible()
    # Generate now runs with the kept model, without loading anything again.
    loads = len(fake_engine.loads)
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate()
    assert len(fake_engine.loads) == loads
    assert fake_engine.runs[-1].model == str(tiny_model_dir)


def test_sd2_family_is_asked_once_and_remembered(controlled, qtbot, fake_engine, library, tmp_path):
    from aae_desktop.engine.models.single_file import FamilyUnknown
    from aae_desktop.ui.models.model_family_dialog import FamilyDialog

    checkpoint = tmp_path / "mystery.safetensors"
    checkpoint.write_bytes(b"stand-in")
    base_load = fake_engine.load

    def load(source, options):
        if source == str(checkpoint) and ModelLibrary().family_for(source) is None:
            fake_engine.loads.append((source, options))
            raise FamilyUnknown(checkpoint)
        return base_load(source, options)

    fake_engine.load = load
    window, controls = controlled()
    with qtbot.waitSignal(window.worker.failed, timeout=10000):
        window.request_model_load(str(checkpoint))
    qtbot.waitUntil(lambda: isinstance(controls.active_dialog, FamilyDialog), timeout=5000)
    controls.active_dialog.v_button.setChecked(True)
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        controls.active_dialog.accept()
    assert library.family_for(checkpoint) == "sd2v"
    assert [s for s, _ in fake_engine.loads] == [str(checkpoint), str(checkpoint)]


def test_options_apply_persist_and_reload(controlled, qtbot, fake_engine, library, tiny_model_dir):
    from aae_desktop.engine.models.loading import LoadOptions

    window, controls = controlled()
    _load(qtbot, window, controls, str(tiny_model_dir))
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        controls.apply_options(LoadOptions(device="cpu", precision="fp32", vae_tiling=True))
    assert fake_engine.loads[-1][1].vae_tiling
    assert library.load_options()["vae_tiling"] is True
    window2, _ = controlled()
    assert window2.load_options.vae_tiling  # memory options survive a restart


def test_open_checkpoint_loads_the_picked_file(controlled, qtbot, fake_engine):
    window, controls = controlled()
    controls.pick_checkpoint = lambda parent, start="": "/models/picked.safetensors"
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        controls.actions["open_checkpoint"].trigger()
    assert fake_engine.loads[-1][0] == "/models/picked.safetensors"
    assert window.model_source == "/models/picked.safetensors"


def test_launch_installs_the_controls_after_showing(make_window, qtbot, library):
    from aae_desktop.ui.models.model_controls import install_model_controls_soon
    from aae_desktop.ui.models.model_dialog import FirstRunDialog

    window = make_window()
    install_model_controls_soon(window, offer_first_run=True)
    assert not hasattr(window, "model_controls")  # not yet: the window paints first
    qtbot.waitUntil(lambda: hasattr(window, "model_controls"), timeout=5000)
    assert isinstance(window.model_controls.active_dialog, FirstRunDialog)
    window.model_controls.active_dialog.reject()
