"""UI test fixtures: a fake engine (fast, scriptable), a settings file in tmp_path, thread-leak guard."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
from PIL import Image

from aae_desktop.engine.errors import GenerationCancelled, ModelLoadError
from aae_desktop.engine.events import GenerationResult, ImageResult, StepEvent
from aae_desktop.engine.model_handle import ModelHandle
from aae_desktop.settings import SettingsStore


def fake_model(source, options) -> ModelHandle:
    """The fake's model handle; its family is in its file name, so tests can switch families."""
    from pathlib import Path

    name = Path(source).name
    family = next((key for key in ("sdxl", "sd2v", "sd2") if key in name), "sd1")
    return ModelHandle(source=source, options=options, name="fake-model", device="cpu", dtype="float32",
                       family=family)


@dataclass
class FakeEngine:
    """Behaves like the real engine from the worker's point of view, in milliseconds.

    step_seconds paces the steps (it waits on the cancel event, so cancel is instant);
    fail_with makes generate() raise; loads/runs record what the worker asked for.
    It has every method of ui/run/engine_port.Engine (tests/ui/test_engine_port.py checks).
    """

    can_stop_at_once = False  # as the in-process engine: kill() is never asked for

    step_seconds: float = 0.0
    fail_with: BaseException | None = None
    loads: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    step_started: threading.Event = field(default_factory=threading.Event)

    def load_tokenizer(self):
        from aae_desktop.engine.tokens import load_tokenizer

        return load_tokenizer()

    def check(self, source, options):
        pass  # every fake source passes; a broken one fails at load()

    def load(self, source, options):
        self.loads.append((source, options))
        if "broken" in source:
            raise ModelLoadError(f"{source} is not a diffusers model folder (model_index.json is missing).")
        return fake_model(source, options)

    def unload(self):
        pass

    def free_memory(self, options):
        pass

    def close(self):
        pass

    def kill(self):
        pass

    def generate(self, model, request, on_step, cancel, on_image=None):
        self.runs.append(request)
        warnings = request.validate()
        request = request.resolved()  # as the real engine: the result carries the schedule it ran with
        started = time.perf_counter()
        images = []
        for i in range(request.num_images):
            for step in range(request.steps):
                if cancel.is_set():
                    raise GenerationCancelled("Generation cancelled.")
                self.step_started.set()
                if self.fail_with is not None and step == 1:
                    raise self.fail_with
                phase = "exciting" if request.excite.enabled and step < request.excite.max_iter_to_alter else "denoising"
                shade = int(255 * (step + 1) / request.steps)
                on_step(StepEvent(i, request.num_images, step, request.steps, phase, loss=1.0 / (step + 1),
                                  token_max_attention={t: 0.5 for t in request.excite.token_indices},
                                  preview=Image.new("RGB", (16, 16), (shade, 0, 0)),
                                  elapsed=time.perf_counter() - started))
                if self.step_seconds:
                    cancel.wait(self.step_seconds)
            image = Image.new("RGB", (request.width // 8, request.height // 8), (0, 128, 255))
            images.append(ImageResult(image=image, seed=request.seed + i, request=request.for_image(i)))
            if on_image is not None:  # like the real engine: each image as soon as it is finished
                on_image(images[-1])
        return GenerationResult(request, images, time.perf_counter() - started, "cpu", warnings)


@pytest.fixture
def fake_engine():
    return FakeEngine()


@pytest.fixture
def settings_store(tmp_path):
    return SettingsStore(tmp_path / "config" / "settings.json")


@pytest.fixture
def make_window(qtbot, settings_store, fake_engine):
    """Build a MainWindow on the fake engine and wait until its tokenizer has arrived."""
    from aae_desktop.ui.main_window import MainWindow

    def make(engine=None, store=None):
        window = MainWindow(store or settings_store, engine=engine or fake_engine)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.prompt_editor.tokenizer is not None, timeout=15000)
        return window

    return make


@pytest.fixture(autouse=True)
def no_dangling_qthreads(monkeypatch):
    """Fail any test that leaves a QThread running once its widgets are closed."""
    from PySide6.QtCore import QThread

    started: list[QThread] = []
    original = QThread.start

    def tracking_start(self, *args):
        started.append(self)
        return original(self, *args)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield started
    running = [t for t in started if _alive(t)]
    for thread in running:  # stop them so one leak does not cascade into later tests
        thread.quit()
        thread.wait(5000)
    assert not running, f"test left {len(running)} QThread(s) running: {[t.objectName() for t in running]}"


def _alive(thread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already gone, so the thread is too
        return False
