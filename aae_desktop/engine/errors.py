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
}


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

    def message_for(self, names: Mapping[str, str]) -> str:
        """The message with each field named as `names` says (field key -> name), else the engine's way."""
        text = self.template
        for placeholder, key in {"field": self.field, **self.also}.items():
            if key is not None:
                name = names.get(key) or DEFAULT_FIELD_NAMES.get(key) or key.rpartition(".")[2]
                text = text.replace("{" + placeholder + "}", name)
        return text


class GenerationCancelled(EngineError):
    """The user cancelled; the pipeline is left ready for the next run.

    Cancelling means "make no more", not "throw away": `completed` holds the images of the batch
    that were finished before the cancel (engine.events.ImageResult).
    """

    def __init__(self, message: str = "Generation cancelled.", completed: list | None = None):
        super().__init__(message)
        self.completed = list(completed or [])


class OutOfMemory(EngineError):
    """The device ran out of memory. `suggestions` are keys of engine.memory_advice (options that help there)."""

    def __init__(self, device: str, detail: str = "", suggestions: tuple[str, ...] | None = None):
        from aae_desktop.engine import memory_advice

        self.device = device
        self.detail = detail
        self.suggestions = tuple(suggestions) if suggestions is not None else memory_advice.suggestions(device)
        super().__init__(self.describe())

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The message with each suggestion named as the caller shows it (a window label, a CLI flag)."""
        from aae_desktop.engine import memory_advice

        return memory_advice.sentence(self.device, self.detail, self.suggestions, names or memory_advice.PLAIN_NAMES)


class NaNLatents(EngineError):
    """The latents became NaN/inf (often fp16 overflow or a too-large excite step)."""

    def __init__(self, step: int):
        self.step = step
        super().__init__(
            f"The image became invalid (NaN) at step {step}. Try fp32 precision, a smaller scale factor, "
            "or fewer Attend-and-Excite iterations."
        )


class ModelLoadError(EngineError):
    """A model could not be loaded (missing files, wrong family, corrupt weights, not SD)."""
