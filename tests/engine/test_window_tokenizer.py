"""The engine process sends the window a model's tokenizer only when it splits words differently from
the bundled one: unpickling one stalls the window's UI thread for 100-180 ms (issue 20, run-start gap)."""
from __future__ import annotations

from types import SimpleNamespace

from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.tokens import tokenizer_for_window


def _saved_tokenizer(folder, **kwargs):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True, **kwargs)


def _model(tokenizer):
    pipe = SimpleNamespace(tokenizer=tokenizer, scheduler=None)
    return SimpleNamespace(pipe=pipe, name="tiny", device="cpu", dtype="torch.float32", family="sd1", notes=())


def test_a_tokenizer_that_splits_like_the_bundled_one_stays_in_the_engine(tiny_model_dir):
    saved = _saved_tokenizer(tiny_model_dir)  # read from the model folder, as the engine reads it
    assert tokenizer_for_window(saved) is None
    assert tokenizer_for_window(_saved_tokenizer(tiny_model_dir, pad_token="!")) is None  # SD 2.x pads with "!"
    # Control: a tokenizer that knows a word the bundled one does not is sent, so the chips stay right.
    extended = _saved_tokenizer(tiny_model_dir)
    extended.add_tokens(["<my-style>"])
    assert tokenizer_for_window(extended) is extended


def test_the_loaded_message_carries_no_tokenizer_the_window_already_has(tiny_model_dir):
    from aae_desktop.engine.run.engine_process import _info

    options = LoadOptions(device="cpu", precision="fp32")
    info = _info(_model(_saved_tokenizer(tiny_model_dir)), str(tiny_model_dir), options)
    assert info.tokenizer is None and info.family == "sd1"
    extended = _saved_tokenizer(tiny_model_dir)
    extended.add_tokens(["<my-style>"])
    assert _info(_model(extended), str(tiny_model_dir), options).tokenizer is extended
