"""The window <-> engine process protocol: typed messages, each answer checked against its question,
and a version handshake. The parent side runs against a fake child on a thread (it answers what the
test says), and the handshake also against a real spawned child."""
from __future__ import annotations

import multiprocessing
import threading

import pytest

from aae_desktop.engine import process_messages as messages
from aae_desktop.engine.run.engine_process import EngineProcess
from aae_desktop.engine.model_handle import ModelHandle
from aae_desktop.engine.models.loading import LoadOptions
from aae_desktop.engine.process_messages import Checked, Failed, Generate, Hello, Load, Loaded, ProtocolError, Quit
from aae_desktop.engine.request import GenerationRequest

CPU = LoadOptions(device="cpu", precision="fp32")
HANDLE = ModelHandle(source="/models/a", options=CPU, name="a", device="cpu", dtype="float32")


class _ThreadChild:
    """Stands in for the child process: a thread that greets, then answers each request with answer(request)."""

    def __init__(self, conn, answer, version):
        self.pid, self.exitcode = 0, None
        self._thread = threading.Thread(target=self._serve, args=(conn, answer, version), daemon=True)
        self._thread.start()

    @staticmethod
    def _serve(conn, answer, version):
        conn.send(Hello(version))
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
            if isinstance(request, Quit):
                return
            conn.send(answer(request))

    def is_alive(self):
        return self._thread.is_alive()

    def terminate(self):
        pass  # the thread ends when the parent closes its end of the pipe

    def join(self, timeout=None):
        self._thread.join(timeout)


class FakeChildEngine(EngineProcess):
    def __init__(self, answer, version=messages.PROTOCOL_VERSION):
        super().__init__()
        self._fake = answer, version

    def _start_child(self):
        parent, child = multiprocessing.Pipe()
        return _ThreadChild(child, *self._fake), parent, threading.Event()


def _answer_loaded_to_everything(request):
    return Loaded(HANDLE)


def test_an_answer_to_another_question_is_an_error_naming_both():
    engine = FakeChildEngine(_answer_loaded_to_everything)
    try:
        assert engine.load(HANDLE.source, CPU) == HANDLE  # the right answer passes
        request = GenerationRequest(model=HANDLE.source, prompt="a cat")
        with pytest.raises(ProtocolError, match=r"answered Loaded to Generate \(expected Done\)"):
            engine.generate(HANDLE, request, None, None)
        assert engine.pid is None  # out of step: the next request starts a new child
    finally:
        engine.close()


def test_the_right_answers_and_a_failure_pass():
    def answer(request):
        return {"Check": Checked(), "Load": Loaded(HANDLE)}.get(type(request).__name__,
                                                               Failed(ValueError("no such request")))

    engine = FakeChildEngine(answer)
    try:
        engine.check(HANDLE.source, CPU)
        assert engine.load(HANDLE.source, CPU) == HANDLE
        with pytest.raises(ValueError, match="no such request"):
            engine.unload()
    finally:
        engine.close()


@pytest.mark.parametrize("question, message", [(Load("/m", CPU), Checked()), (Generate(None, 0.25), Hello(1)),
                                               (messages.Handshake(), Loaded(HANDLE))])
def test_check_answer_names_the_question_and_the_message(question, message):
    with pytest.raises(ProtocolError) as raised:
        messages.check_answer(question, message)
    assert type(question).__name__ in str(raised.value) and type(message).__name__ in str(raised.value)


def test_a_child_of_another_protocol_version_is_refused_clearly():
    engine = FakeChildEngine(_answer_loaded_to_everything, version=messages.PROTOCOL_VERSION + 1)
    with pytest.raises(ProtocolError, match=f"protocol version {messages.PROTOCOL_VERSION + 1}, the window version "
                                            f"{messages.PROTOCOL_VERSION}"):
        engine.check(HANDLE.source, CPU)
    assert engine.pid is None
    engine.close()


def test_the_real_child_greets_with_its_version(monkeypatch):
    """A spawned child imports its own process_messages: a window of another version refuses it."""
    monkeypatch.setattr(messages, "PROTOCOL_VERSION", messages.PROTOCOL_VERSION + 100)
    engine = EngineProcess()
    try:
        with pytest.raises(ProtocolError, match=f"protocol version {messages.PROTOCOL_VERSION - 100}, the window"):
            engine.check("/nowhere", CPU)
        assert engine.pid is None  # the child of the other version is not kept
    finally:
        engine.close()
