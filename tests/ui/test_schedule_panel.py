"""The excite schedule in the window: it follows the step count, shows the numbers a run uses, adapts
the artist's values with a note next to the field, and words every message with the field labels."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from aae_desktop.engine.request import PAPER_THRESHOLDS, SCHEMA_VERSION
from aae_desktop.settings import Settings

TIMEOUT = 10000


def _words(window, prompt="a cat and a frog", words=("cat", "frog")):
    window.request_model_load("fake-model-folder")
    window.prompt_editor.set_prompt(prompt)
    for chip in window.prompt_editor.token_selector.chips:
        if chip.text() in words:
            chip.click()
    window.parameters.width.setValue(64)
    window.parameters.height.setValue(64)


def test_panel_shows_the_automatic_schedule_for_the_step_count(make_window):
    excite = make_window().parameters
    assert excite.excite.max_iter.text() == "Auto (25)"
    assert excite.excite.schedule_summary.text().startswith("excite steps 1–25 · refine at steps 1, 11, 21")
    excite.steps.setValue(20)
    assert excite.excite.max_iter.text() == "Auto (10)"
    assert excite.excite.schedule_summary.text() == "excite steps 1–10 · refine at steps 1, 5, 9"
    assert excite.excite.thresholds.placeholderText() == "Auto: 0:0.05, 4:0.5, 8:0.8"
    assert not excite.excite.max_iter_note.isVisibleTo(excite) and not excite.excite.threshold_note.isVisibleTo(excite)


def test_window_renders_at_20_steps_straight_after_a_step_change(make_window, qtbot, fake_engine):
    window = make_window()
    _words(window)
    window.parameters.steps.setValue(20)
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(window.generate_button, Qt.MouseButton.LeftButton)
    assert window.banner.isHidden() or window.banner.kind != "error"
    submitted = fake_engine.runs[-1]
    assert submitted.excite.max_iter_to_alter is None and submitted.excite.thresholds is None
    ran = blocker.args[0].images[0].request  # what the gallery saves: the numbers the run used
    assert ran.excite.max_iter_to_alter == 10 and ran.excite.thresholds == ((0, 0.05), (4, 0.5), (8, 0.8))


def test_set_values_are_adapted_with_a_note_next_to_the_field_and_in_the_banner(make_window, qtbot, fake_engine):
    window = make_window()
    _words(window)
    excite = window.parameters.excite
    excite.max_iter.setValue(25)
    excite.thresholds.setText("0:0.05,10:0.5,20:0.8")
    assert not excite.max_iter_note.isVisibleTo(window)  # fits 50 steps
    window.parameters.steps.setValue(20)
    assert excite.max_iter_note.isVisibleTo(window)
    assert excite.max_iter_note.text() == ("Excite steps (25) is more than Steps (20); this run excites the "
                                           "first 10, the paper's share (25 of 50).")
    assert excite.threshold_note.text() == ("Thresholds: step 20 is past the last step (19) of Steps (20); "
                                            "this run leaves it out.")
    assert excite.schedule_summary.text().startswith("excite steps 1–10 · refine at steps 1, 11")
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT) as blocker:
        window.generate()
    assert window.banner.kind == "info" and "Excite steps (25) is more than Steps (20)" in window.banner.message()
    assert "max_iter_to_alter" not in window.banner.message()
    assert blocker.args[0].images[0].request.excite.max_iter_to_alter == 10
    assert excite.max_iter.number() == 25  # the artist's value stays for when the steps go back up
    window.parameters.steps.setValue(50)
    assert not excite.max_iter_note.isVisibleTo(window)


def test_paper_defaults_return_to_the_relative_schedule(make_window):
    parameters = make_window().parameters
    parameters.steps.setValue(30)
    parameters.excite.max_iter.setValue(7)
    parameters.excite.thresholds.setText("none")
    assert parameters.excite.settings().thresholds == ()
    parameters.excite.defaults.click()
    settings = parameters.excite.settings()
    assert settings.max_iter_to_alter is None and settings.thresholds is None
    assert parameters.excite.max_iter.text() == "Auto (15)"


def test_stepping_from_auto_adjusts_the_number_shown(make_window):
    spin = make_window().parameters.excite.max_iter
    spin.stepBy(1)
    assert spin.number() == 26
    spin.set_number(None)
    spin.stepBy(-1)
    assert spin.number() == 24
    spin.setValue(0)
    spin.stepBy(-1)
    assert spin.number() is None and spin.text() == "Auto (25)"


def test_errors_name_the_field_label_and_focus_its_widget(make_window, fake_engine):
    window = make_window()
    _words(window)
    window.parameters.excite.thresholds.setText("0:1.5")
    window.activateWindow()
    window.generate()
    assert window.banner.message().endswith("Thresholds: the value at step 0 must be in (0, 1]; got 1.5.")
    assert window.parameters.excite.thresholds.hasFocus() or window.focusWidget() is window.parameters.excite.thresholds
    window.parameters.excite.thresholds.setText("ten:0.5")
    assert window.parameters.excite.threshold_problem.text().startswith("Thresholds: 'ten:0.5' should look like")
    assert not fake_engine.runs


def test_old_session_with_paper_numbers_at_50_steps_follows_the_steps(make_window, settings_store):
    old = {"schema_version": 1, "model": "", "prompt": "a cat and a frog", "steps": 50,
           "excite": {"token_indices": [2], "max_iter_to_alter": 25, "thresholds": {"0": 0.05, "10": 0.5, "20": 0.8}}}
    settings_store.save(Settings(last_request=old))
    parameters = make_window().parameters
    assert parameters.excite.max_iter.number() is None and parameters.excite.settings().thresholds is None
    parameters.steps.setValue(20)
    assert parameters.excite.schedule_summary.text().startswith("excite steps 1–10 · refine at steps 1, 5, 9")


def test_old_session_with_its_own_numbers_keeps_them(make_window, settings_store):
    old = {"schema_version": 1, "model": "", "prompt": "a cat and a frog", "steps": 30,
           "excite": {"token_indices": [2], "max_iter_to_alter": 25,
                      "thresholds": {str(s): v for s, v in PAPER_THRESHOLDS}}}
    settings_store.save(Settings(last_request=old))
    window = make_window()
    assert window.parameters.excite.max_iter.number() == 25
    window.save_settings()
    saved = json.loads(settings_store.path.read_text())["last_request"]
    assert saved["schema_version"] == SCHEMA_VERSION and saved["excite"]["max_iter_to_alter"] == 25


def test_clip_skip_and_eta_in_the_panel_follow_the_sampler(make_window, qtbot, fake_engine):
    window = make_window()
    _words(window)
    p = window.parameters
    assert not p.eta.isEnabled()  # "Model default" with no model known yet; LMS ignores eta too
    p.scheduler.setCurrentIndex(p.scheduler.findData("lms"))
    assert not p.eta.isEnabled() and p.eta.text() == "Not used"
    p.scheduler.setCurrentIndex(p.scheduler.findData("euler_a"))
    assert p.eta.isEnabled() and p.eta.text() == "Default (1)"
    p.eta.stepBy(-2)  # from the default the arrows adjust the number shown
    assert p.eta.eta() == 0.9
    p.scheduler.setCurrentIndex(p.scheduler.findData("ddim"))
    assert p.eta.specialValueText() == "Default (0)"
    p.clip_skip.setValue(2)
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate()
    assert (fake_engine.runs[-1].clip_skip, fake_engine.runs[-1].eta) == (2, 0.9)
    p.scheduler.setCurrentIndex(p.scheduler.findData("lms"))
    assert window.current_request().eta is None  # a sampler that ignores eta gets none
    window.apply_request(window.current_request().replace(scheduler="euler_a", eta=0.3, clip_skip=3))
    assert (p.clip_skip.value(), p.eta.eta(), p.eta.isEnabled()) == (3, 0.3, True)
    p.scheduler.setCurrentIndex(p.scheduler.findData("default"))
    p.set_model_sampler("DDIMScheduler")  # SD 2.x ships DDIM as its own scheduler
    assert p.eta.isEnabled() and p.eta.specialValueText() == "Default (0)"


def test_window_names_the_fields_its_messages_mention_by_label(make_window):
    labels = make_window().field_labels()
    assert {key: labels[key] for key in ("steps", "scheduler", "clip_skip", "eta", "excite.max_iter_to_alter",
                                         "excite.thresholds")} == {
        "steps": "Steps", "scheduler": "Sampler", "clip_skip": "Clip skip", "eta": "Eta",
        "excite.max_iter_to_alter": "Excite steps", "excite.thresholds": "Thresholds"}
