"""The messages between the window and its engine process (engine_process.py), one frozen dataclass each.

Each side matches what it receives by type, never by position in a tuple. Every request names the one
answer that ends it; while it waits, the parent also takes the events of that request (steps and
images of a Generate) and a Failed. Anything else is the two sides out of step: a ProtocolError that
names the question and the answer. The child's first message is a Hello with its protocol version, so
a child built from other code (a stale install, a half-finished update) is refused before any work.
No Qt, no torch: the window imports this at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from aae_desktop.engine.errors import EngineError

if TYPE_CHECKING:
    from aae_desktop.engine.events import GenerationResult, ImageResult, StepEvent
    from aae_desktop.engine.model_handle import ModelHandle
    from aae_desktop.engine.models.loading import LoadOptions
    from aae_desktop.engine.request import GenerationRequest

# Raise it whenever a message changes shape or meaning (both sides are always the same code, except
# when they are not: that is what the Hello catches).
PROTOCOL_VERSION = 1


class ProtocolError(EngineError):
    """The engine process said something that is not an answer to what it was asked."""


# -- child -> parent ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """The child's first message, before it reads any request."""

    version: int


@dataclass(frozen=True)
class Checked:
    pass


@dataclass(frozen=True)
class Loaded:
    model: ModelHandle


@dataclass(frozen=True)
class Unloaded:
    pass


@dataclass(frozen=True)
class Step:
    event: StepEvent


@dataclass(frozen=True)
class ImageDone:
    image: ImageResult


@dataclass(frozen=True)
class Done:
    result: GenerationResult


@dataclass(frozen=True)
class Failed:
    """The request raised: `error` is the engine's own exception (or an EngineError with its text)."""

    error: BaseException


# -- parent -> child ----------------------------------------------------------------------------------

class Question:
    """A request, or the handshake: the one answer that ends it, and the events that may come before."""

    answer: ClassVar[type]
    events: ClassVar[tuple[type, ...]] = ()


@dataclass(frozen=True)
class Check(Question):
    source: str
    options: LoadOptions
    answer: ClassVar[type] = Checked


@dataclass(frozen=True)
class Load(Question):
    source: str
    options: LoadOptions
    answer: ClassVar[type] = Loaded


@dataclass(frozen=True)
class Unload(Question):
    answer: ClassVar[type] = Unloaded


@dataclass(frozen=True)
class Generate(Question):
    request: GenerationRequest
    preview_interval_s: float
    answer: ClassVar[type] = Done
    events: ClassVar[tuple[type, ...]] = (Step, ImageDone)


@dataclass(frozen=True)
class Quit:
    """No answer: the child exits."""


Request = Check | Load | Unload | Generate | Quit


class Handshake(Question):
    """What the parent waits for first from a new child: its Hello."""

    answer: ClassVar[type] = Hello


def check_answer(question: Question, message: Any) -> None:
    """Raise ProtocolError unless `message` may arrive while `question` waits for its answer.

    `question` is a request (or Handshake); Failed may answer any of them, events only their own request.
    """
    allowed = (question.answer, Failed, *question.events)
    if not isinstance(message, allowed):
        raise ProtocolError(f"The engine process answered {type(message).__name__} to {type(question).__name__} "
                            f"(expected {question.answer.__name__}); it is restarted on the next request.")


def check_hello(hello: Hello) -> None:
    """Raise EngineError when the child speaks another version of this protocol."""
    if hello.version != PROTOCOL_VERSION:
        raise ProtocolError(f"The engine process speaks protocol version {hello.version}, the window version "
                            f"{PROTOCOL_VERSION}: they come from different installs of the app. Reinstall it, "
                            "or restart it after an update.")
