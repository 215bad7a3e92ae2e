"""The heat map's number and the readout's number for a word are one quantity (issue 20 §6): "peak 0.15"
under the map against 0.14 in the readout came from the raw map's maximum against the smoothed
peak the loss measures, at the same step. Both now show the smoothed peak of the last measurement."""
from __future__ import annotations

import re

from aae_desktop.engine.events import ImageResult, LossRecord
from aae_desktop.engine.run.generate import generate
from aae_desktop.engine.request import ExciteSettings, GenerationRequest
from aae_desktop.engine.tokens import tokenize_request
from aae_desktop.ui.iterate.heatmap_view import HeatmapView
from aae_desktop.ui.run.run_status import attention_text


def _readout_values(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"(\w+) <b>([0-9.]+)</b>", text) if name != "loss"}


def test_the_heat_maps_number_is_the_readouts(qtbot, tiny_model, tokenizer):
    request = GenerationRequest(model="tiny", prompt="a cat and a frog", seed=1, steps=10, width=64, height=64,
                                excite=ExciteSettings(token_indices=(2, 5)))
    events = []
    result = generate(tiny_model, request, on_step=events.append)
    image = result.images[0]
    last = [e for e in events if e.token_max_attention][-1]  # what the readout shows when the run ends
    words = {i: w.text for w in tokenize_request(tokenizer, request).words for i in w.token_indices}
    readout = {words[i]: v for i, v in last.token_max_attention.items()}
    assert set(_readout_values(attention_text(last.token_max_attention, words, last.loss))) == {"cat", "frog"}

    view = HeatmapView()
    qtbot.addWidget(view)
    view.show_result(image, tokenizer)
    peaks = {cell.word: cell.peak for cell in view.canvas._cells}
    assert peaks == readout
    # Control: the raw maps' maxima are another number (what the caption showed before).
    raw = {w.label: float(w.attention.max()) for w in view.words}
    assert all(abs(raw[w] - readout[w]) > 1e-4 for w in readout)


def test_the_readout_ends_on_the_runs_last_measurement(make_window, qtbot, fake_engine):
    """Progress is throttled, so the last measurement may never reach the readout: the finished run sets it."""
    base_generate = fake_engine.generate
    final = LossRecord(step=4, phase="refining", loss=0.86, token_max_attention={2: 0.14})

    def generate_with_history(model, request, on_step, cancel, on_image=None):
        result = base_generate(model, request, on_step, cancel, on_image)  # its events say 0.50
        result.images[0] = ImageResult(result.images[0].image, result.images[0].seed, result.images[0].request,
                                       loss_history=[final])
        return result

    fake_engine.generate = generate_with_history
    window = make_window()
    window.request_model_load("/models/fake")
    window.prompt_editor.set_prompt("a cat and a frog", "", (2,))
    with qtbot.waitSignal(window.worker.finished, timeout=15000):
        window.generate()
    assert _readout_values(window.run_status.readout.text()) == {"cat": 0.14}
    assert "loss <b>0.860</b>" in window.run_status.readout.text()
