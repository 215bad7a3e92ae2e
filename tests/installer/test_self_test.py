"""`aae-desktop --self-test`: its result checks, and that every failure is one line and exit 1.

The passing run (real window, tiny model) is what CI's installer step runs through the installed
launcher; here the failure paths are covered with a stand-in window, which is fast."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QObject, Signal

from aae_desktop import self_test


@pytest.fixture
def restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _result(request, image, maps=None, losses=("loss",)):
    image_result = SimpleNamespace(
        image=image,
        attention_maps={i: np.zeros((16, 16), np.float32) for i in request.excite.token_indices} if maps is None else maps,
        loss_history=list(losses),
    )
    return SimpleNamespace(images=[image_result], device="cpu", request=request)


def _noise(size=128):
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def request_():
    from aae_desktop.engine.tokens import load_tokenizer

    return self_test.tiny_request(load_tokenizer())


def test_tiny_request_excites_both_words_and_is_valid(request_):
    from aae_desktop.engine.tokens import load_tokenizer

    assert len(request_.excite.token_indices) == 2
    assert request_.validate(load_tokenizer()) is not None  # raises InvalidRequest when not valid
    assert (request_.width, request_.height) == (self_test.SIZE, self_test.SIZE)


def test_check_result_accepts_a_real_looking_render(request_):
    assert self_test.check_result(_result(request_, _noise()), request_).startswith("128x128, 4 steps")


@pytest.mark.parametrize("broken, message", [
    (dict(image=Image.new("RGB", (128, 128), "gray")), "blank"),
    (dict(image=_noise(64)), "expected (128, 128)"),
    (dict(image=_noise(), maps={}), "no attention map"),
    (dict(image=_noise(), losses=()), "loss was never computed"),
])
def test_check_result_rejects_broken_renders(request_, broken, message):
    with pytest.raises(self_test.SelfTestFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
        self_test.check_result(_result(request_, **broken), request_)


class _IdleWindow(QObject):
    """Stands in for a window whose Generate button does nothing."""

    results_ready = Signal(object)

    def __init__(self):
        super().__init__()
        self.worker = SimpleNamespace(failed=SimpleNamespace(connect=lambda slot: None), busy=False,
                                      is_running=lambda: False)
        self.closed = False

    def show(self):
        pass

    def request_model_load(self, source, options):
        pass

    def apply_request(self, request):
        pass

    def generate(self):
        pass

    def close(self):
        self.closed = True


def test_a_window_that_never_starts_the_run_fails_in_one_line(qapp, capsys, restore_environ):
    windows = []

    def factory(store, engine):
        windows.append(_IdleWindow())
        return windows[-1]

    assert self_test.run_self_test(factory) == self_test.EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.err.strip() == "aae-desktop self-test: FAILED: window: Generate did not start a run"
    assert captured.out == ""
    assert windows[0].closed


def test_an_exception_names_its_stage_and_leaves_no_scratch_settings(qapp, capsys, restore_environ):
    os.environ.pop("AAE_DESKTOP_GALLERY_DIR", None)
    seen = {}

    def factory(store, engine):
        seen["settings"] = store.path
        seen["gallery"] = os.environ["AAE_DESKTOP_GALLERY_DIR"]
        raise RuntimeError("no display here\nsecond line")

    assert self_test.run_self_test(factory) == self_test.EXIT_FAILED
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["aae-desktop self-test: FAILED (window): RuntimeError: no display here"]
    # The self-test works in a scratch folder and removes it; the user's gallery setting is untouched.
    assert not seen["settings"].parent.exists()
    assert seen["gallery"].startswith(str(seen["settings"].parent))
    assert "AAE_DESKTOP_GALLERY_DIR" not in os.environ
