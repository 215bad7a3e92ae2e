"""Typed engine errors, so the UI and CLI can tell a user mistake from a machine problem."""
from __future__ import annotations

from typing import Mapping

# How the engine names a request field in a message when the front end gives no name of its own.
# Keys are GenerationRequest field paths; the window maps them to its labels, the CLI to its flags.
DEFAULT_FIELD_NAMES: dict[str, str] = {
    "num_images": "number of images",
    "guidance_scale": "guidance scale",
    "size": "the image size",
    "excite.token_indices": "token indices",
    "excite.max_iter_to_alter": "max_iter_to_alter",
    "excite.thresholds": "thresholds",
    "excite.scale_factor": "scale factor",
    "excite.scale_range": "scale range",
    "excite.sigma": "sigma",
    "excite.kernel_size": "kernel size",
    "excite.max_refinement_steps": "refinement cap",
    "excite.attn_res": "attn_res",
    "clip_skip": "clip_skip",
    "eta": "eta",
    "loras": "LoRAs",
    "embeddings": "embeddings",
}


def _name_fields(template: str, field: str | None, also: Mapping[str, str], names: Mapping[str, str]) -> str:
    text = template
    for placeholder, key in {"field": field, **also}.items():
        if key is not None:
            name = names.get(key) or DEFAULT_FIELD_NAMES.get(key) or key.rpartition(".")[2]
            text = text.replace("{" + placeholder + "}", name)
    return text


class FieldNote(str):
    """A note about a request field (a warning, an adapted value), worded like InvalidRequest: "{field}"
    in the text is filled in by each front end through message_for(names); as a str it reads with the
    engine's names, so code that only wants text keeps working."""

    template: str
    field: str | None
    also: dict[str, str]

    def __new__(cls, template: str, field: str | None = None, also: Mapping[str, str] | None = None) -> "FieldNote":
        self = super().__new__(cls, _name_fields(template, field, dict(also or {}), {}))
        self.template, self.field, self.also = template, field, dict(also or {})
        return self

    def message_for(self, names: Mapping[str, str]) -> str:
        return _name_fields(self.template, self.field, self.also, names)

    def __reduce__(self):  # keeps the template when it crosses from the engine process
        return (type(self), (self.template, self.field, self.also))


def worded(message: object, names: Mapping[str, str]) -> str:
    """Any engine message or error worded for a front end (plain text stays as it is)."""
    message_for = getattr(message, "message_for", None)
    return message_for(names) if message_for is not None else str(message)


class EngineError(Exception):
    """Base class: every message is written for the artist, not the developer."""


class InvalidRequest(EngineError, ValueError):
    """The request cannot run as given (bad prompt, indices, sizes...).

    `field` is the request field at fault ("steps", "excite.scale_factor", or "size" for width and
    height together). Where the message says "{field}", each front end puts its own name for it
    (the window its label, the CLI its flag) through `message_for`; str() uses the engine's name.
    `also` names further placeholders the same way ({"images": "num_images"} fills "{images}").
    """

    def __init__(self, message: str, field: str | None = None, also: Mapping[str, str] | None = None):
        self.template = message
        self.field = field
        self.also = dict(also or {})
        super().__init__(self.message_for({}))

    def __reduce__(self):  # keeps field and template when it crosses from the engine process
        return (type(self), (self.template, self.field, self.also))

    def message_for(self, names: Mapping[str, str]) -> str:
        """The message with each field named as `names` says (field key -> name), else the engine's way."""
        return _name_fields(self.template, self.field, self.also, names)


class GenerationCancelled(EngineError):
    """The user cancelled; the pipeline is left ready for the next run.

    Cancelling means "make no more", not "throw away": `completed` holds the images of the batch
    that were finished before the cancel (engine.events.ImageResult).
    """

    def __init__(self, message: str = "Generation cancelled.", completed: list | None = None):
        super().__init__(message)
        self.completed = list(completed or [])

    def __reduce__(self):
        return (type(self), (str(self), self.completed))


class OutOfMemory(EngineError):
    """The device ran out of memory. `suggestions` are keys of engine.memory_advice (options that help there)."""

    def __init__(self, device: str, detail: str = "", suggestions: tuple[str, ...] | None = None):
        from aae_desktop.engine.run import memory_advice

        self.device = device
        self.detail = detail
        self.suggestions = tuple(suggestions) if suggestions is not None else memory_advice.suggestions(device)
        super().__init__(self.describe())

    def __reduce__(self):  # rebuilt from its own arguments when it crosses from the engine process
        return (type(self), (self.device, self.detail, self.suggestions))

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The message with each suggestion named as the caller shows it (a window label, a CLI flag)."""
        from aae_desktop.engine.run import memory_advice

        return memory_advice.sentence(self.device, self.detail, self.suggestions, names or memory_advice.PLAIN_NAMES)

    def __reduce__(self):  # rebuilt from its own arguments when it crosses from the engine process
        return (type(self), (self.device, self.detail))


class NaNLatents(EngineError):
    """The latents became NaN/inf (often fp16 overflow or a too-large excite step)."""

    def __reduce__(self):
        return (type(self), (self.step,))

    def __init__(self, step: int):
        self.step = step
        super().__init__(
            f"The image became invalid (NaN) at step {step}. Try fp32 precision, a smaller scale factor, "
            "or fewer Attend-and-Excite iterations."
        )


class ModelLoadError(EngineError):
    """A model could not be loaded (missing files, wrong family, corrupt weights, not SD)."""


class AddonError(InvalidRequest):
    """A LoRA or embedding the request names cannot be used (missing, damaged, for another model family).

    A user mistake like any invalid request: the run does not start and the loaded model stays usable.
    `field` is "loras" or "embeddings"."""
