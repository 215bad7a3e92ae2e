"""Switching models safely (no Qt): the previous model stays loaded until the new one has loaded.

The worker thread owns one ModelManager. A model that fails to load (missing file, wrong family,
corrupt weights, not SD) leaves the current one in place and the error says why. Only when the new
model does not fit in memory beside the old one is the old one released and the load tried again.
"""
from __future__ import annotations

import gc
from typing import Any, Callable

from aae_desktop.engine.errors import OutOfMemory
from aae_desktop.engine.model_library import ModelLibrary
from aae_desktop.engine.models import LoadedModel, LoadOptions


class ModelManager:
    def __init__(self, loader: Callable[[str, LoadOptions], Any] | None = None, library: ModelLibrary | None = None):
        if loader is None:
            from aae_desktop.engine.models import load_model as loader
        self._loader = loader
        self.library = library
        self.current: LoadedModel | None = None
        self.current_key: tuple[str, LoadOptions] | None = None

    def load(self, source: str, options: LoadOptions | None = None) -> LoadedModel:
        """The model for (source, options): the current one when unchanged, else a fresh load."""
        options = self.with_remembered_family(str(source), options or LoadOptions())
        key = (str(source), options)
        if self.current is not None and self.current_key == key:
            return self.current
        try:
            model = self._loader(str(source), options)
        except OutOfMemory:
            if self.current is None:
                raise
            self.release()  # it did not fit beside the old model: give that memory back, try once more
            model = self._loader(str(source), options)
        self.release()
        self.current, self.current_key = model, key
        if self.library is not None:
            self.library.add_recent(str(source), getattr(model, "name", ""), model.info.get("kind", ""), model.family)
        return model

    def with_remembered_family(self, source: str, options: LoadOptions) -> LoadOptions:
        """Fill in the SD 2.x family the user chose for this file before (options.family == 'auto')."""
        if options.family not in ("", "auto") or self.library is None:
            return options
        remembered = self.library.family_for(source)
        if not remembered:
            return options
        from dataclasses import replace

        return replace(options, family=remembered)

    def release(self) -> None:
        """Drop the current model and hand its memory back to the device."""
        if self.current is None:
            return
        device = self.current.device
        self.current = None
        self.current_key = None
        gc.collect()
        _empty_device_cache(device)


def _empty_device_cache(device: str) -> None:
    try:
        import torch

        if device == "cuda" and torch.cuda.is_available():
            torch.cuda.empty_cache()
        elif device == "mps" and hasattr(torch, "mps"):
            torch.mps.empty_cache()
    except Exception:  # freeing a cache must never turn a successful switch into an error
        pass

