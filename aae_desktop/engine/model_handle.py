"""The one handle the window holds on a loaded model; the model itself stays in the engine.

Every engine's load() returns one and its generate() takes it back; the worker hands the same object
to the window (with the load's duration filled in). It holds no tensors, so the window keeping it never
keeps a model's memory, and it pickles small enough to cross from the engine process.
No Qt, no torch: the window imports this at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aae_desktop.engine.models.loaded_model import LoadedModel
    from aae_desktop.engine.models.loading import LoadOptions


@dataclass(frozen=True)
class ModelHandle:
    source: str  # what the user pointed at (folder, repo id, file)
    options: LoadOptions
    name: str  # short display name
    device: str
    dtype: str
    family: str = ""  # a families.FAMILIES key
    scheduler_class: str = ""  # the model's own scheduler (what the "Model default" sampler runs)
    notes: tuple[str, ...] = ()  # what the device does differently from the chosen options (shown once)
    # The model's own tokenizer when the window needs it (None: the bundled one splits words the same).
    tokenizer: Any = field(default=None, compare=False, repr=False)
    seconds: float = field(default=0.0, compare=False)  # how long the load took, as the worker timed it


def handle_for(model: LoadedModel, source: str, options: LoadOptions, tokenizer: Any) -> ModelHandle:
    """The handle on a model loaded from `source` with `options`; `tokenizer` is what the window gets."""
    scheduler = model.pipe.scheduler
    return ModelHandle(source=source, options=options, name=model.name, device=str(model.device),
                       dtype=str(model.dtype), family=model.family,
                       scheduler_class=type(scheduler).__name__ if scheduler is not None else "",
                       notes=tuple(str(note) for note in model.notes), tokenizer=tokenizer)
