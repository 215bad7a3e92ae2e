"""Worker pieces that need no thread: preview throttling and how failures are worded."""
from __future__ import annotations

from PIL import Image

from aae_desktop.engine.errors import InvalidRequest, ModelLoadError, NaNLatents, OutOfMemory
from aae_desktop.engine.events import StepEvent
from aae_desktop.ui.run.worker import GenerationWorker, _describe_failure, _StepThrottle


def test_previews_are_throttled_but_the_last_step_always_reports(fake_engine, qtbot):
    worker = GenerationWorker(fake_engine)
    previews, progress = [], []
    worker.preview_ready.connect(previews.append)
    worker.progressed.connect(progress.append)
    throttle = _StepThrottle(worker, run_id=1)
    image = Image.new("RGB", (8, 8))
    for step in range(200):  # far faster than 4 a second
        throttle(StepEvent(0, 1, step, 200, "denoising", preview=image))
    assert 1 <= len(previews) <= 2
    assert len(progress) < 50
    assert progress[-1].step == 199  # the final step is never swallowed


def test_phase_changes_always_report(fake_engine, qtbot):
    worker = GenerationWorker(fake_engine)
    progress = []
    worker.progressed.connect(progress.append)
    throttle = _StepThrottle(worker, run_id=1)
    for phase in ("exciting", "refining", "exciting", "denoising"):
        throttle(StepEvent(0, 1, 3, 50, phase))
    assert [p.phase for p in progress] == ["exciting", "refining", "exciting", "denoising"]


def test_failures_are_worded_for_the_artist():
    cases = {
        InvalidRequest("steps must be at least 1"): ("invalid", "steps must be at least 1"),
        # Out-of-memory advice names the window's own controls.
        OutOfMemory("cuda"): ("out_of_memory", "a smaller Size; or in Model ▸ Device and memory…: Precision fp16, "
                                               "Model CPU offload, VAE tiling"),
        RuntimeError("CUDA out of memory. Tried to allocate"): ("out_of_memory", "Precision fp16"),
        MemoryError(): ("out_of_memory", "closing other programs"),
        NaNLatents(4): ("nan", "step 4"),
        ModelLoadError("model_index.json is missing"): ("model", "model_index.json"),
        KeyError("x"): ("unexpected", "KeyError"),
    }
    for exc, (kind, phrase) in cases.items():
        failure = _describe_failure(7, exc)
        assert failure.kind == kind and phrase in failure.message and failure.run_id == 7


def test_throttle_tells_the_engine_when_a_preview_would_show(fake_engine, qtbot):
    worker = GenerationWorker(fake_engine)
    throttle = _StepThrottle(worker, run_id=1)
    assert throttle.wants_preview()
    throttle(StepEvent(0, 1, 0, 50, "denoising", preview=Image.new("RGB", (8, 8))))
    assert not throttle.wants_preview()  # just shown one: the next would be dropped anyway


def test_real_engine_asks_the_step_consumer_before_making_previews(tiny_model):
    import threading

    from aae_desktop.ui.run.engine_port import DiffusersEngine
    from tests.engine.helpers import small_request

    class Consumer:
        def __init__(self):
            self.events, self.asked = [], 0

        def wants_preview(self):
            self.asked += 1
            return False

        def __call__(self, event):
            self.events.append(event)

    consumer = Consumer()
    engine = DiffusersEngine(loader=lambda source, options: tiny_model)
    handle = engine.load(tiny_model.source, tiny_model.options)
    engine.generate(handle, small_request(steps=3, excite={"enabled": False}), consumer, threading.Event())
    assert consumer.asked > 0 and all(e.preview is None for e in consumer.events)


def test_out_of_memory_advice_on_a_mac_offers_attention_slicing_not_offload():
    from aae_desktop.engine.run import memory_advice

    failure = _describe_failure(1, OutOfMemory("mps", "while generating", memory_advice.suggestions("mps")))
    assert "Attention slicing" in failure.message and "offload" not in failure.message
    assert "Apple GPU" in failure.message
