"""Settings: JSON round trip, bad files, and the window restoring what it saved."""
from __future__ import annotations

import json

from aae_desktop.settings import SETTINGS_SCHEMA_VERSION, Settings, SettingsStore, default_settings_path


def test_round_trip(tmp_path):
    store = SettingsStore(tmp_path / "deep" / "settings.json")
    settings = Settings(last_model="/m/sd15", seed_mode="increment", splitter_sizes={"workSplitter": [1, 2, 3]},
                        last_request={"prompt": "a cat"})
    store.save(settings)
    data = json.loads(store.path.read_text())
    assert data["schema_version"] == SETTINGS_SCHEMA_VERSION
    assert store.load() == settings


def test_missing_file_gives_defaults(tmp_path):
    store = SettingsStore(tmp_path / "none.json")
    assert store.load() == Settings()
    assert store.load_problem is None


def test_corrupt_or_newer_file_gives_defaults_and_says_why(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text("{not json")
    assert store.load() == Settings()
    assert "not valid JSON" in store.load_problem
    store.path.write_text(json.dumps({"schema_version": SETTINGS_SCHEMA_VERSION + 1, "last_model": "x"}))
    assert store.load() == Settings()
    assert "newer version" in store.load_problem


def test_wrongly_typed_fields_fall_back_individually(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text(json.dumps({"last_model": 5, "seed_mode": "locked", "unknown": 1}))
    loaded = store.load()
    assert loaded.last_model == "" and loaded.seed_mode == "locked"


def test_config_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("AAE_DESKTOP_CONFIG", str(tmp_path / "x.json"))
    assert default_settings_path() == tmp_path / "x.json"
    monkeypatch.delenv("AAE_DESKTOP_CONFIG")
    assert default_settings_path().name == "settings.json"


def test_window_saves_and_restores_parameters_and_layout(make_window, settings_store, qtbot):
    window = make_window()
    window.request_model_load("/models/fake")
    window.prompt_editor.set_prompt("a cat and a frog", "ugly", [5])
    window.parameters.steps.setValue(33)
    window.parameters.guidance.setValue(9.0)
    window.parameters.set_seed_mode("increment")
    window.parameters.seed.setValue(4242)
    window.parameters.excite.thresholds.setText("0:0.2,4:0.6")
    # The offscreen screen is small and restoreGeometry() clamps to the screen, so stay inside it.
    # The window may take more than this (its minimum follows the fonts): what it took is what is saved.
    window.resize(780, 560)
    window.work_splitter.setSizes([200, 260, 300])
    sizes = window.work_splitter.sizes()
    expected = window.current_request()
    saved_size = window.size()
    window.close()

    saved = settings_store.load()
    assert saved.last_model == "/models/fake"
    assert saved.splitter_sizes["workSplitter"] == sizes

    again = make_window()
    assert again.current_request() == expected
    assert again.parameters.seed_mode_key() == "increment"
    assert [w.text for w in again.prompt_editor.selected_words()] == ["frog"]
    # The restored window takes the saved size unless its own minimum is larger (the restored prompt's
    # word chips, laid out in this machine's fonts, can make it so): compare with what it can accept.
    # Not the default 1400x900 either way, so a geometry that was not restored fails here.
    qtbot.waitUntil(lambda: again.size() == saved_size.expandedTo(again.minimumSizeHint()), timeout=5000)
    assert again.work_splitter.sizes() == sizes


def test_each_run_saves_settings_so_a_crash_keeps_them(make_window, settings_store, qtbot):
    window = make_window()
    window.request_model_load("/models/fake")
    window.prompt_editor.set_prompt("a cat and a frog", "", [2])
    window.parameters.steps.setValue(7)
    window.parameters.excite.max_iter.setValue(3)
    window.parameters.excite.thresholds.setText("0:0.05")
    window.parameters.width.setValue(128)
    window.parameters.height.setValue(128)
    with qtbot.waitSignal(window.worker.finished, timeout=10000):
        window.generate()
    # No close(): as if the app had been killed right after the run started.
    saved = settings_store.load()
    assert saved.last_request["prompt"] == "a cat and a frog"
    assert saved.last_request["steps"] == 7 and saved.last_request["width"] == 128
