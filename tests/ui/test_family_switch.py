"""Switching to a model of another family: presets and defaults follow it, the artist's own values and words stay."""
from __future__ import annotations

import pytest

from aae_desktop.engine.models.families import FAMILIES
from aae_desktop.ui.parameters.family_switch import switch_values

SD1, SD2V, SDXL = FAMILIES["sd1"], FAMILIES["sd2v"], FAMILIES["sdxl"]


@pytest.mark.parametrize(
    "old, new, before, after",
    [
        (SD1, SDXL, (512, 512, 7.5), (1024, 1024, 5.0)),  # untouched defaults follow the family
        (SD1, SDXL, (512, 768, 7.5), (832, 1216, 5.0)),  # 2:3 portrait -> SDXL's nearest, 832 x 1216
        (SD1, SDXL, (912, 512, 7.5), (1344, 768, 5.0)),  # wide stays wide
        (SDXL, SD1, (832, 1216, 5.0), (512, 768, 7.5)),
        (SD1, SD2V, (768, 512, 7.5), (1024, 768, 7.5)),  # same default guidance: nothing to say about it
        (SD1, SDXL, (640, 448, 9.0), (640, 448, 9.0)),  # set by the artist: kept
        (SDXL, SDXL, (512, 512, 7.5), (512, 512, 7.5)),  # same family: nothing changes
    ],
)
def test_switch_values(old, new, before, after):
    switch = switch_values(old, new, *before)
    assert (switch.width, switch.height, switch.guidance) == after
    assert bool(switch.note) == (old is not new)


def test_the_note_says_what_changed_and_what_was_kept():
    moved = switch_values(SD1, SDXL, 512, 512, 7.5).note
    assert moved == "SDXL model: size 512 × 512 → 1024 × 1024, guidance 7.5 → 5 (SDXL defaults)."
    kept = switch_values(SD1, SDXL, 640, 448, 9.0).note
    assert kept == ("Your size 640 × 448 is kept (SDXL draws best near 1024 × 1024); your guidance 9 is kept "
                    "(SDXL default: 5).")
    mixed = switch_values(SD1, SDXL, 512, 512, 9.0).note
    assert mixed.startswith("SDXL model: size 512 × 512 → 1024 × 1024 (SDXL defaults). Your guidance 9 is kept")


def _load(qtbot, window, source):
    with qtbot.waitSignal(window.worker.model_loaded, timeout=10000):
        window.request_model_load(source)


def test_window_follows_the_family_and_keeps_prompt_words_and_own_values(make_window, qtbot):
    window = make_window()
    window.prompt_editor.set_prompt("a red cat and a blue frog", "blurry", (3, 7))
    _load(qtbot, window, "/models/dreamshaper-8.safetensors")
    panel = window.parameters
    assert (panel.width.value(), panel.height.value(), panel.guidance.value()) == (512, 512, 7.5)
    assert "SD 1.x" in window.model_status.text()

    _load(qtbot, window, "/models/juggernaut-sdxl.safetensors")
    assert (panel.width.value(), panel.height.value(), panel.guidance.value()) == (1024, 1024, 5.0)
    presets = [panel.size_preset.itemText(i) for i in range(panel.size_preset.count())]
    assert presets[0] == "Square 1024 × 1024" and "Tall 768 × 1344" in presets and presets[-1] == "Custom"
    assert panel.size_preset.currentText() == "Square 1024 × 1024"
    assert panel.family_note.isVisibleTo(panel) and "SDXL defaults" in panel.family_note.text()
    assert "SDXL" in window.model_status.text() and "SDXL" in panel.size_preset.toolTip()
    # The prompt and the chosen words survive the switch (the same CLIP vocabulary indexes both families).
    assert window.prompt_editor.prompt() == "a red cat and a blue frog"
    assert window.prompt_editor.negative_prompt() == "blurry"
    assert window.prompt_editor.token_indices() == (3, 7)
    assert [w.text for w in window.prompt_editor.selected_words()] == ["cat", "frog"]

    # The artist sets their own guidance: switching back moves the size (an SDXL preset) but keeps it.
    panel.guidance.setValue(6.5)
    assert not panel.family_note.isVisibleTo(panel)  # the note described values that are gone
    _load(qtbot, window, "/models/dreamshaper-8.safetensors")
    assert (panel.width.value(), panel.height.value(), panel.guidance.value()) == (512, 512, 6.5)
    assert "guidance 6.5 is kept" in panel.family_note.text()
    assert window.current_request().guidance_scale == 6.5
