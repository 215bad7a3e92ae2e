"""Main window on the fake engine: generate, previews, cancel, errors, validation, restore."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView, QProgressBar, QPushButton, QSpinBox, QDoubleSpinBox, QPlainTextEdit, QWidget

from aae_desktop.engine.errors import NaNLatents, OutOfMemory
from aae_desktop.engine.request import GenerationRequest

TIMEOUT = 10000

OBJECT_NAMES = {
    "promptEdit": QPlainTextEdit, "negativePromptEdit": QPlainTextEdit, "tokenSelector": QWidget,
    "seedSpin": QSpinBox, "stepsSpin": QSpinBox, "guidanceSpin": QDoubleSpinBox, "widthSpin": QSpinBox,
    "heightSpin": QSpinBox, "generateButton": QPushButton, "cancelButton": QPushButton,
    "previewView": QWidget, "progressBar": QProgressBar, "galleryView": QListView,
}


def _ready(window, prompt="a cat and a frog", words=("cat",), steps=4, size=64):
    window.request_model_load("fake-model-folder")
    window.prompt_editor.set_prompt(prompt)
    for chip in window.prompt_editor.token_selector.chips:
        if chip.text() in words:
            chip.click()
    window.parameters.steps.setValue(steps)
    window.parameters.width.setValue(size)
    window.parameters.height.setValue(size)
    window.parameters.excite.max_iter.setValue(min(2, steps))
    window.parameters.excite.thresholds.setText("0:0.05")


def test_required_object_names_exist(make_window):
    window = make_window()
    for name, kind in OBJECT_NAMES.items():
        assert window.findChild(kind, name) is not None, name


def test_every_control_has_a_tooltip(make_window):
    window = make_window()
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    controls = [w for kind in (QAbstractSpinBox, QComboBox, QLineEdit, QAbstractButton, QPlainTextEdit)
                for w in window.findChildren(kind) if w.isVisibleTo(window)]
    # Controls owned by Qt internals (spin box line edits, scroll bar buttons) carry no objectName.
    missing = [w.objectName() or w.text() for w in controls
               if not w.toolTip() and not isinstance(w.parent(), QAbstractSpinBox)
               and w.objectName() not in ("qt_spinbox_lineedit",)]
    assert not missing, f"controls without tooltip: {missing}"


def test_generate_shows_previews_and_result(make_window, qtbot, fake_engine):
    window = make_window()
    _ready(window)
    with qtbot.waitSignals([window.worker.started, window.worker.preview_ready, window.worker.finished],
                           order="strict", timeout=TIMEOUT):
        qtbot.mouseClick(window.generate_button, Qt.MouseButton.LeftButton)
    request = fake_engine.runs[-1]
    assert request.excite.token_indices == (2,)
    assert request.model == "fake-model-folder"
    assert window.preview.has_image
    assert window.gallery_widget.model().rowCount() == 1
    assert window.generate_button.isEnabled() and not window.cancel_button.isEnabled()
    assert window.run_status.progress.value() == 1000
    assert "attention" not in window.run_status.readout.text()  # readout shows words, not internals
    assert "cat" in window.run_status.readout.text()


def test_model_loads_once_and_is_reused(make_window, qtbot, fake_engine):
    window = make_window()
    _ready(window)
    for _ in range(2):
        with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
            window.generate()
    assert len(fake_engine.loads) == 1


def test_progress_bar_leaves_the_busy_state_once_the_model_is_loaded(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.worker.model_loaded, timeout=TIMEOUT):
        window.request_model_load("fake-model-folder")
    bar = window.findChild(QProgressBar, "progressBar")
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=TIMEOUT)  # 0..0 is Qt's endless "busy" animation
    assert "Model ready" in bar.format()


def test_results_ready_hook_gets_the_generation_result(make_window, qtbot):
    window = make_window()
    _ready(window)
    window.parameters.num_images.setValue(2)
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT) as blocker:
        window.generate()
    result = blocker.args[0]
    assert [r.seed for r in result.images] == [result.request.seed, result.request.seed + 1]
    assert window.gallery_widget.model().rowCount() == 2


def test_nothing_selected_blocks_generate_with_message(make_window, fake_engine):
    window = make_window()
    _ready(window, words=())
    window.generate()
    assert window.banner.isVisible()
    assert "at least one word" in window.banner.message()
    assert not fake_engine.runs


def test_excite_off_renders_plain_sd_without_words(make_window, qtbot, fake_engine):
    window = make_window()
    _ready(window, words=())
    window.parameters.excite.setChecked(False)
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate()
    assert fake_engine.runs[-1].excite.enabled is False


def test_size_not_multiple_of_8_gets_clear_messages(make_window, fake_engine):
    window = make_window()
    _ready(window)
    window.parameters.width.setValue(500)
    assert window.parameters.size_problem.isVisibleTo(window)
    assert "496 or 504" in window.parameters.size_problem.text()
    window.generate()
    assert "multiple of 8" in window.banner.message()
    assert not fake_engine.runs


def test_bad_thresholds_text_is_reported(make_window, fake_engine):
    window = make_window()
    _ready(window)
    window.parameters.excite.thresholds.setText("ten:0.5")
    assert window.parameters.excite.threshold_problem.isVisibleTo(window)
    window.generate()
    assert "STEP:VALUE" in window.banner.message()
    assert not fake_engine.runs


def test_no_model_chosen_is_reported(make_window, fake_engine):
    window = make_window()
    _ready(window)
    window._set_model_source("")
    window.generate()
    assert "Choose a model" in window.banner.message()


def test_cancel_returns_to_idle(make_window, qtbot, fake_engine):
    fake_engine.step_seconds = 0.05
    window = make_window()
    _ready(window, steps=200)
    window.generate()
    assert window.cancel_button.isEnabled() and not window.generate_button.isEnabled()
    qtbot.waitUntil(fake_engine.step_started.is_set, timeout=TIMEOUT)
    window.prompt_editor.prompt_edit.setFocus()  # Esc must work while typing the next prompt
    with qtbot.waitSignal(window.worker.cancelled, timeout=TIMEOUT):
        qtbot.keyClick(window.prompt_editor.prompt_edit, Qt.Key.Key_Escape)
    assert window.generate_button.isEnabled() and not window.cancel_button.isEnabled()
    assert "Cancelled" in window.run_status.progress.format()
    assert not window.worker.busy


def test_prompt_stays_editable_during_a_run(make_window, qtbot, fake_engine):
    fake_engine.step_seconds = 0.05
    window = make_window()
    _ready(window, steps=200)
    window.generate()
    assert not window.prompt_editor.prompt_edit.isReadOnly() and window.prompt_editor.prompt_edit.isEnabled()
    window.cancel()
    qtbot.waitSignal(window.worker.cancelled, timeout=TIMEOUT).wait()


def test_ctrl_enter_generates(make_window, qtbot):
    window = make_window()
    _ready(window)
    window.prompt_editor.prompt_edit.setFocus()
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        qtbot.keyClick(window.prompt_editor.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "\n" not in window.prompt_editor.prompt()


def test_engine_errors_are_shown_and_app_keeps_working(make_window, qtbot, fake_engine):
    window = make_window()
    _ready(window)
    for error, expected in ((OutOfMemory("cpu"), "smaller Size"), (NaNLatents(3), "NaN"),
                            (RuntimeError("boom"), "RuntimeError: boom")):
        fake_engine.fail_with = error
        with qtbot.waitSignal(window.worker.failed, timeout=TIMEOUT):
            window.generate()
        assert window.banner.isVisible() and window.banner.kind == "error"
        assert expected in window.banner.message()
        assert window.generate_button.isEnabled()
    fake_engine.fail_with = None
    with qtbot.waitSignal(window.worker.finished, timeout=TIMEOUT):
        window.generate()


def test_broken_model_folder_is_reported(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.worker.failed, timeout=TIMEOUT):
        window.request_model_load("/models/broken-folder")
    assert "model_index.json" in window.banner.message()
    assert window.model_status.text() == "No model loaded"


def test_apply_request_restores_everything(make_window):
    window = make_window()
    original = GenerationRequest(
        model="/models/sd15", prompt="a black cat and a frog", negative_prompt="blurry", seed=1234,
        num_images=3, steps=31, guidance_scale=6.5, width=640, height=384, scheduler="euler_a",
    ).with_excite(token_indices=(3, 6), max_iter_to_alter=12, thresholds=((0, 0.1), (5, 0.6)), scale_factor=15.0,
                  smooth_attentions=False, sigma=0.7, max_refinement_steps=9, attn_res=(24, 24), kernel_size=5)
    window.apply_request(original)
    assert [w.text for w in window.prompt_editor.selected_words()] == ["cat", "frog"]
    assert window.parameters.seed_mode_key() == "locked"
    assert window.current_request() == original
    window.apply_seed(77)
    assert window.current_request().seed == 77


def test_replacing_the_gallery_widget(make_window):
    window = make_window()
    replacement = QListView()
    replacement.setObjectName("galleryView")
    window.set_gallery_widget(replacement)
    assert window.findChild(QListView, "galleryView") is replacement
    assert window.main_splitter.indexOf(replacement) == 1


def test_closing_mid_run_cancels_and_stops_the_thread(make_window, qtbot, fake_engine):
    fake_engine.step_seconds = 0.05
    window = make_window()
    _ready(window, steps=500)
    window.generate()
    qtbot.waitUntil(fake_engine.step_started.is_set, timeout=TIMEOUT)
    import time

    began = time.monotonic()
    window.close()
    assert time.monotonic() - began < 2.0
    assert not window.worker.is_running()


def test_progress_text_names_phase_step_and_eta():
    from aae_desktop.ui.run.run_status import attention_text, progress_text
    from aae_desktop.ui.run.worker_events import Progress

    p = Progress(run_id=1, phase="refining", step=9, total_steps=50, image_index=1, num_images=2, fraction=0.6,
                 elapsed=30.0, eta=75.0, refinement_iteration=2)
    # The engine's refining forward 2 measures after the first try (#20: tries count 1..the cap).
    assert progress_text(p) == "Refining · step 10/50 (try 1) · image 2/2 · 1:15 left"
    done = Progress(run_id=1, phase="denoising", step=50, total_steps=50, image_index=0, num_images=1,
                    fraction=1.0, elapsed=30.0, eta=None)
    assert progress_text(done) == "Denoising · step 50/50 · estimating…"
    # A word split into two tokens reports its weaker token: that is the one the loss pushes.
    assert attention_text({3: 0.8, 4: 0.3, 6: 0.5}, {3: "axolotl", 4: "axolotl", 6: "frog"}, 0.7) == (
        "axolotl <b>0.30</b>   frog <b>0.50</b>   loss <b>0.700</b>")


def test_failed_model_switch_keeps_the_loaded_model(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.worker.model_loaded, timeout=TIMEOUT):
        window.request_model_load("/models/good")
    with qtbot.waitSignal(window.worker.failed, timeout=TIMEOUT):
        window.request_model_load("/models/broken-folder")
    assert window.model_source == "/models/good"
    assert "Still using" in window.banner.message()
    assert "fake-model" in window.model_status.text()


def test_parameter_panel_is_never_cut_off_in_a_small_window(make_window, qtbot):
    """On a laptop-sized window the splitter gives the parameter column its minimum width: that must
    hold the whole panel (its spin boxes and the seed's New button were clipped at the right edge)."""
    from PySide6.QtWidgets import QScrollArea

    window = make_window()
    window.resize(900, 700)
    window.work_splitter.setSizes([10_000, 10_000, 1])  # squeeze the parameter column as far as it goes
    scroll = window.findChild(QScrollArea, "parameterScroll")
    qtbot.wait(50)
    assert scroll.viewport().width() >= window.parameters.minimumSizeHint().width()


def test_a_second_cancel_stops_an_engine_stuck_in_one_long_call(make_window, qtbot):
    """A cancel acts between UNet calls; one call on a huge image can take minutes on a CPU. The
    second Cancel ends an engine that can be killed (the real one runs in its own process)."""
    import threading

    from aae_desktop.engine.errors import GenerationCancelled
    from tests.ui.conftest import FakeEngine

    class StuckEngine(FakeEngine):
        can_stop_at_once = True

        def __init__(self):
            super().__init__()
            self.killed = threading.Event()

        def generate(self, model, request, on_step, cancel, on_image=None):
            self.step_started.set()
            self.killed.wait(60)  # deaf to `cancel`, as torch is inside one long C++ call
            raise GenerationCancelled("Stopped at once; the next run reloads the model.")

        def kill(self):
            self.killed.set()

    engine = StuckEngine()
    window = make_window(engine=engine)
    _ready(window, steps=20)
    window.generate()
    qtbot.waitUntil(engine.step_started.is_set, timeout=TIMEOUT)
    window.cancel()
    assert "Cancel again stops at once" in window.run_status.progress.format()
    assert not engine.killed.is_set() and window.worker.busy
    with qtbot.waitSignal(window.worker.cancelled, timeout=TIMEOUT):
        window.cancel()
    assert engine.killed.is_set() and not window.worker.busy
    assert window.generate_button.isEnabled()
