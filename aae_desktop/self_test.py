"""`aae-desktop --self-test`: proves an install works end to end, with no model download and no screen.

It opens the main window offscreen, renders one small Attend-and-Excite image with the tiny built-in
random model the way the Generate button does (same worker thread), checks the result, and closes. Exit 0
and one "ok" line on success; otherwise exit 1 and one line naming the stage that failed. Installers
run it after installing, and support asks for its output.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

EXIT_OK, EXIT_FAILED = 0, 1
RENDER_TIMEOUT_S = 600  # a slow CPU renders the tiny model in seconds; this only catches a hang
SIZE = 128  # the tiny model's natural size: 16x16 latents
PROMPT = "a cat and a dog"
EXCITED_WORDS = ("cat", "dog")
# Where the window would otherwise save images and its index: pointed into the scratch folder.
_SCRATCH_ENV = {"AAE_DESKTOP_GALLERY_DIR": "gallery", "AAE_DESKTOP_DATA_DIR": "data"}

_log = logging.getLogger("aae-desktop.self-test")


class SelfTestFailure(Exception):
    """One stage of the self-test failed; the message is the one line the user sees."""


def tiny_model():
    """The tiny random model, built in memory on the CPU (nothing is downloaded or written)."""
    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline
    from aae_desktop.engine.models.tiny_model import tiny_pipeline

    return wrap_pipeline(tiny_pipeline(seed=0), "tiny-random", LoadOptions(device="cpu", precision="fp32"),
                         name="tiny-random")


def tiny_request(tokenizer):
    """A short render that still exercises the excite loss and refinement on two words."""
    from aae_desktop.engine.request import GenerationRequest
    from aae_desktop.engine.tokens import tokenize_prompt

    indices = tuple(tokenize_prompt(tokenizer, PROMPT).indices_for_words(list(EXCITED_WORDS)))
    request = GenerationRequest(model="tiny-random", prompt=PROMPT, seed=0, steps=4, width=SIZE, height=SIZE)
    # A high threshold at step 0 makes sure the refinement loop runs; two rounds keep it quick.
    return request.with_excite(enabled=True, token_indices=indices, max_iter_to_alter=3,
                               thresholds=((0, 0.8),), max_refinement_steps=2)


def tiny_engine():
    """The window's in-process engine, answering every model load with the in-memory tiny model.

    The model is built on the first load, on the worker thread, as a real model would be."""
    from aae_desktop.ui.run.engine_port import DiffusersEngine

    built = []

    def load(source, options):
        if not built:
            built.append(tiny_model())
        return built[0]

    return DiffusersEngine(loader=load)


def check_result(result, request) -> str:
    """Raise SelfTestFailure unless the render is what the request asked for; return a summary."""
    import numpy as np

    if len(result.images) != request.num_images:
        raise SelfTestFailure(f"render: expected {request.num_images} image(s), got {len(result.images)}")
    image = result.images[0]
    if image.image.size != (request.width, request.height):
        raise SelfTestFailure(f"render: image is {image.image.size}, expected {(request.width, request.height)}")
    pixels = np.asarray(image.image, dtype=np.float32)
    if not np.isfinite(pixels).all() or float(pixels.std()) == 0.0:
        raise SelfTestFailure("render: the image is blank")
    missing = [i for i in request.excite.token_indices if i not in image.attention_maps]
    if missing:
        raise SelfTestFailure(f"render: no attention map for excited token(s) {missing}")
    if not image.loss_history:
        raise SelfTestFailure("render: the Attend-and-Excite loss was never computed")
    return f"{request.width}x{request.height}, {request.steps} steps on {result.device}"


def _wait_for(app, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SelfTestFailure(f"{what}: no answer after {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.01)


def open_main_window(store, engine):
    """The real main window with the given settings store and engine port."""
    from aae_desktop.ui.main_window import MainWindow

    return MainWindow(store, engine=engine)


def render_in_window(app, scratch: Path, window_factory: Callable[[Any, Any], Any]) -> str:
    """Open the window offscreen, render the tiny request the way Generate does, close the window."""
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.engine.tokens import load_tokenizer
    from aae_desktop.settings import SettingsStore

    # Built before the window exists: its worker imports transformers on another thread at start-up,
    # and two threads importing transformers at once can see it half-initialised.
    request = tiny_request(load_tokenizer())  # the tiny model uses the bundled tokenizer
    window = window_factory(SettingsStore(scratch / "settings.json"), tiny_engine())
    outcome: dict[str, Any] = {}
    window.results_ready.connect(lambda result: outcome.setdefault("finished", result))
    window.worker.failed.connect(lambda failure: outcome.setdefault("failed", failure))
    try:
        window.show()
        window.request_model_load(request.model, LoadOptions(device="cpu", precision="fp32"))
        window.apply_request(request)
        window.generate()
        if not window.worker.busy and not outcome:
            raise SelfTestFailure("window: Generate did not start a run")
        _wait_for(app, lambda: bool(outcome), RENDER_TIMEOUT_S, "render")
        if "failed" in outcome:
            failure = outcome["failed"]
            raise SelfTestFailure(f"render: {failure.title}: {failure.message}")
        result = outcome["finished"]
        if tuple(result.request.excite.token_indices) != request.excite.token_indices:
            raise SelfTestFailure("window: the run did not excite the words the self-test chose")
        return check_result(result, result.request)
    finally:
        window.close()
        worker = getattr(window, "worker", None)
        if worker is not None and worker.is_running():
            worker.shutdown()


def _qt_message_to_log(_mode, _context, message: str) -> None:
    _log.info("qt: %s", message)


def run_self_test(window_factory: Callable[[Any, Any], Any] | None = None) -> int:
    """Run every stage; print one line; return the exit code.

    Settings, gallery and index go to a scratch folder, so the self-test never touches the user's own."""
    # Set before Qt and the Hugging Face libraries load: no screen needed, nothing downloaded.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Library chatter about the random model would bury the one line this command promises.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    started = time.monotonic()
    stage = "start"
    saved_env = {name: os.environ.get(name) for name in _SCRATCH_ENV}
    qt_handler_installed, previous_handler = False, None
    try:
        with tempfile.TemporaryDirectory(prefix="aae-self-test-") as scratch:
            for name, folder in _SCRATCH_ENV.items():
                os.environ[name] = str(Path(scratch) / folder)
            stage = "qt"
            from PySide6.QtCore import qInstallMessageHandler
            from PySide6.QtWidgets import QApplication

            # Qt's own warnings (the offscreen platform has a few) go to the log, not the console.
            previous_handler, qt_handler_installed = qInstallMessageHandler(_qt_message_to_log), True
            app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "aae-desktop"])
            stage = "window"
            summary = render_in_window(app, Path(scratch), window_factory or open_main_window)
    except SelfTestFailure as exc:
        _log.error("self-test failed: %s", exc)
        print(f"aae-desktop self-test: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the point of a self-test is to report any failure as one line
        _log.exception("self-test failed at stage %s", stage)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"aae-desktop self-test: FAILED ({stage}): {type(exc).__name__}: {first}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if qt_handler_installed:
            from PySide6.QtCore import qInstallMessageHandler

            qInstallMessageHandler(previous_handler)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    from aae_desktop import __version__

    print(f"aae-desktop self-test: ok (version {__version__}; rendered {summary} in "
          f"{time.monotonic() - started:.1f} s)")
    _log.info("self-test passed: %s", summary)
    return EXIT_OK
