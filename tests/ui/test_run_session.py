"""RunSession: one path from a request to a submitted run, without Qt (the window, the A/B and the
seed sweep all go through it), and the model source and load options in one place."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.ui.run.run_session import RunRefused, RunSession
from tests.engine.helpers import small_request


@dataclass
class RecordingWorker:
    busy: bool = False
    current_request: GenerationRequest | None = None
    submitted: list = field(default_factory=list)
    loads: list = field(default_factory=list)

    def submit(self, request, options):
        self.submitted.append((request, options))

    def load_model(self, source, options):
        self.loads.append((source, options))


def _request(**fields) -> GenerationRequest:
    return small_request(**{"model": "/models/tiny", **fields})


def test_prepare_refuses_with_the_banners_words_and_submit_sends_the_load_options(tokenizer):
    worker = RecordingWorker()
    session = RunSession(worker, "/models/tiny", LoadOptions(device="cpu", precision="fp32"))
    with pytest.raises(RunRefused, match="Choose a model first"):
        session.prepare(_request(model=""), tokenizer, {})
    with pytest.raises(RunRefused, match="Steps") as refused:
        session.prepare(_request(steps=0), tokenizer, {"steps": "Steps"})
    assert refused.value.field == "steps"
    session.run_checks.append(lambda request: ("Gallery folder", "It cannot be written."))
    with pytest.raises(RunRefused, match="cannot be written"):
        session.prepare(_request(), tokenizer, {})
    session.run_checks.clear()
    prepared = session.prepare(_request(), tokenizer, {})
    session.submit(prepared)
    assert worker.submitted == [(prepared.request, LoadOptions(device="cpu", precision="fp32"))]


def test_choosing_a_model_during_a_run_says_it_comes_after_it():
    worker = RecordingWorker(busy=True, current_request=_request())
    session = RunSession(worker, "/models/tiny")
    assert session.choose_model("/models/other-model", LoadOptions(device="cpu")) == "other-model after this run"
    assert session.model_source == "/models/other-model" and session.load_options.device == "cpu"
    assert worker.loads == [("/models/other-model", LoadOptions(device="cpu"))]
    assert session.choose_model("/models/tiny") == ""  # the run's own model: nothing to say


def test_the_session_imports_no_qt():
    code = ("import sys, aae_desktop.ui.run.run_session\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_one_generate_tokenizes_the_prompt_no_more_than_the_word_list_did(make_window, qtbot, tmp_path):
    """Validation, the progress readout and the PNG's text (words, bound pairs) read the word list's
    PromptTokens: the tokenizer is not called again for a run (it was called 4 times before)."""
    from aae_desktop.ui.gallery.gallery_integration import install_gallery
    from tests.ui.gallery_helpers import make_store

    window = make_window()
    integration = install_gallery(window, make_store(tmp_path))
    window.request_model_load("fake-model-folder")
    window.prompt_editor.prompt_edit.setPlainText("a red cat and a blue frog, counted")
    window.prompt_editor.set_word_selected(2, True)
    window.parameters.steps.setValue(3)
    tokenizer = window.prompt_editor.tokenizer
    calls = []
    original = type(tokenizer).__call__

    def counting(self, *args, **kwargs):
        calls.append(args[:1])
        return original(self, *args, **kwargs)

    saved = []
    integration.gallery.saved.connect(saved.append)
    type(tokenizer).__call__ = counting
    try:
        with qtbot.waitSignal(window.results_ready, timeout=15000):
            window.generate()
        qtbot.waitUntil(lambda: bool(saved), timeout=15000)
    finally:
        type(tokenizer).__call__ = original
    assert calls == []
