"""Case 6: a settings file the app cannot decode gives defaults, a visible reason, and is kept aside."""
from __future__ import annotations

import json
import os

import pytest

from aae_desktop.settings import Settings, SettingsStore

GOOD = json.dumps({"last_model": "/models/sd15", "seed_mode": "locked"})

UNUSABLE = {
    "binary": os.urandom(64) + b"\x00\xff\xfe\x80",
    "utf-16": GOOD.encode("utf-16"),  # with a BOM, as Windows Notepad saves "Unicode"
    "utf-16 without BOM": GOOD.encode("utf-16-le"),
    "latin-1 text": "{\"last_model\": \"caf\xe9\"}".encode("latin-1"),
    "text garbage": b"{not json",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "a JSON list": b"[1, 2, 3]",
}


@pytest.mark.parametrize("kind", UNUSABLE)
def test_unusable_settings_give_defaults_a_reason_and_are_kept_aside(home, kind):
    home.config.mkdir(parents=True)
    home.settings.write_bytes(UNUSABLE[kind])
    store = SettingsStore()
    assert store.path == home.settings
    assert store.load() == Settings()
    problem = store.load_problem
    assert problem and "defaults" in problem and str(home.settings) in problem
    kept = [p for p in home.config.iterdir() if p.name.startswith("settings.json.")]
    assert len(kept) == 1 and kept[0].read_bytes() == UNUSABLE[kind]
    assert str(kept[0]) in problem  # the message says where the old file went
    assert not home.settings.exists()  # the next save cannot overwrite what the artist may want back
    store.save(Settings(last_model="/m"))
    assert SettingsStore().load().last_model == "/m" and kept[0].read_bytes() == UNUSABLE[kind]


def test_the_window_opens_with_a_banner_for_a_utf16_settings_file(home, make_window):
    home.config.mkdir(parents=True)
    home.settings.write_bytes(UNUSABLE["utf-16"])
    window = make_window(store=SettingsStore())
    assert window.banner.isVisible()
    assert "defaults" in window.banner.message() and "settings.json" in window.banner.message()
    window.close()  # saving the settings on close works, and keeps the bad file aside
    assert SettingsStore().load_problem is None


def test_the_cli_reads_the_gallery_folder_despite_a_binary_settings_file(home, cli):
    home.config.mkdir(parents=True)
    home.settings.write_bytes(UNUSABLE["binary"])
    result = cli("gallery", "list")
    assert result.code == 0 and "Traceback" not in result.err
    assert home.settings.read_bytes() == UNUSABLE["binary"]  # the CLI only reads; the window sets it aside


def test_the_window_opens_with_wrongly_typed_values_inside_valid_json(home, make_window):
    """Valid JSON whose inner values have the wrong types: each one falls back, the window opens."""
    home.config.mkdir(parents=True)
    home.settings.write_text(json.dumps({
        "splitter_sizes": {"workSplitter": ["a", "b", "c"], "mainSplitter": [10**30, -5]},
        "last_request": {"prompt": 5, "width": [1], "excite": "on", "seed": 2**70},
        "window_geometry": "%%% not base64", "seed_mode": "sometimes", "device": 3,
    }))
    window = make_window(store=SettingsStore())
    assert window.isVisible()
    assert window.parameters.seed_mode_key() in ("random", "locked", "increment")
    assert all(size >= 0 for size in window.work_splitter.sizes())
