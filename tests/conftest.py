"""Shared fixtures: offscreen Qt, the tiny random model (built once per session)."""
from __future__ import annotations

import os
import socket
import threading

# Must be set before any Qt import anywhere in the test session.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Run each test under a frame whose file name is the test's id, so a crash's stack names its test.

    faulthandler (on by default in pytest) prints only file names, lines and function names; a crash in
    pytest-qt's event processing during teardown would otherwise show pytest's own files and no test.
    This does what pytest's default protocol does (log start, run, log finish), one frame deeper.
    """
    from _pytest.runner import runtestprotocol

    namespace: dict = {}
    exec(compile("def running_test(run):\n    return run()\n", f"<test {item.nodeid}>", "exec"), namespace)
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    namespace["running_test"](lambda: runtestprotocol(item, nextitem=nextitem))
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.fixture(scope="session")
def tiny_components():
    from aae_desktop.engine.models.tiny_model import tiny_components as build

    return build(seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_components):
    """A LoadedModel around the tiny pipeline on CPU/fp32."""
    from diffusers import StableDiffusionPipeline

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    pipe = StableDiffusionPipeline(
        **tiny_components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    return wrap_pipeline(pipe, "tiny-random", LoadOptions(device="cpu", precision="fp32"), name="tiny-random")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """The tiny model saved as a diffusers folder (for the CLI and the loader)."""
    from aae_desktop.engine.models.tiny_model import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd", seed=0)


@pytest.fixture
def tokenizer():
    from aae_desktop.engine.tokens import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="session")
def tiny_sdxl_components():
    from aae_desktop.engine.models.tiny_model import tiny_sdxl_components as build

    return build(seed=0)


@pytest.fixture(scope="session")
def tiny_sdxl_model(tiny_sdxl_components):
    """A LoadedModel around the tiny SDXL pipeline on CPU/fp32."""
    from diffusers import StableDiffusionXLPipeline

    from aae_desktop.engine.models.loading import LoadOptions, wrap_pipeline

    pipe = StableDiffusionXLPipeline(**tiny_sdxl_components, add_watermarker=False)
    return wrap_pipeline(pipe, "tiny-sdxl", LoadOptions(device="cpu", precision="fp32"), name="tiny-sdxl")


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory):
    """The tiny SDXL model saved as a diffusers folder (for the CLI and the loader)."""
    from aae_desktop.engine.models.tiny_model import save_tiny_sdxl_model

    return save_tiny_sdxl_model(tmp_path_factory.mktemp("models") / "tiny-sdxl", seed=0)


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty Hugging Face cache and a socket layer that records and refuses every connection."""
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    empty_home = tmp_path / "hf-home"
    empty_home.mkdir()
    monkeypatch.setenv("HF_HOME", str(empty_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(empty_home / "hub"))
    return attempts


class StalledServer:
    """A local 'Hugging Face endpoint' that accepts connections and never answers a byte (a stalled network)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed by close()
                return
            self.accepted.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def stalled_endpoint():
    server = StalledServer()
    yield server
    server.close()
