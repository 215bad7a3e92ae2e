"""The loaded-model handle and how a built pipeline becomes one: below every loader (folders, cache, single files)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae_desktop.engine.models.devices import resolve_device, resolve_dtype
from aae_desktop.engine.errors import ModelLoadError
from aae_desktop.engine.models.families import DEFAULT_FAMILY, ModelFamily, family_from_configs, get_family


@dataclass(frozen=True)
class LoadOptions:
    """How to load, not what to draw: these never change which image a seed gives (beyond rounding)."""

    device: str = "auto"
    precision: str = "auto"
    safety_checker: bool = False  # only honoured when the model folder ships one
    vae_slicing: bool = False  # splits a batch; the engine decodes one image at a time, so only tiling saves memory
    vae_tiling: bool = False
    cpu_offload: bool = False  # used on CUDA only (see devices.uses_offload)
    attention_slicing: bool = False  # less memory for 8-16 GB Macs; slower
    family: str = "auto"  # single files: "auto" or a families.FAMILIES key (SD 2.x 512 vs 768 cannot always be detected)
    config_dir: str | None = None  # single files: a config folder instead of the bundled one for the family


@dataclass
class LoadedModel:
    """A pipeline ready for engine.generate(); `pipe` is the family's diffusers pipeline."""

    pipe: Any
    source: str  # what the user pointed at (folder, repo id, file)
    name: str  # short display name
    family: str = DEFAULT_FAMILY  # a families.FAMILIES key
    device: str = "cpu"
    dtype: str = "float32"
    options: LoadOptions = field(default_factory=LoadOptions)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the device does differently from the options (say so)
    # Everything that differs between families, looked up once here (not by testing `family`).
    family_spec: ModelFamily = field(init=False)

    def __post_init__(self) -> None:
        self.family_spec = get_family(self.family)


def detect_family(pipe: Any) -> str:
    """Family key of a built pipeline, from its class and its UNet and scheduler configs."""
    return family_from_configs(type(pipe).__name__, dict(pipe.unet.config), dict(pipe.scheduler.config))


def wrap_pipeline(pipe: Any, source: str, options: LoadOptions | None = None, name: str | None = None,
                  family: str | None = None) -> LoadedModel:
    """Place an already-built pipeline on the chosen device/dtype and wrap it for the engine.

    Raises OutOfMemory (with advice for the device) when the device cannot hold it.
    """
    import torch

    from aae_desktop.engine.models.devices import place_pipeline, placement_notes

    options = options or LoadOptions()
    device = resolve_device(options.device)
    dtype = resolve_dtype(device, options.precision)
    family = family or detect_family(pipe)
    spec = get_family(family)
    place_pipeline(pipe, device, dtype, options)
    if spec.upcast_vae and dtype == torch.float16 and getattr(pipe.vae.config, "force_upcast", False):
        # This VAE overflows in fp16 (its config says so): it decodes in fp32, as diffusers does.
        pipe.vae.to(torch.float32)
    # Gradients are only ever taken with respect to the latents.
    for component in ("unet", "vae", *spec.text_encoders):
        module = getattr(pipe, component, None)
        if module is not None:
            module.requires_grad_(False)
    pipe.set_progress_bar_config(disable=True)
    return LoadedModel(
        pipe=pipe,
        source=str(source),
        name=name or Path(str(source)).name or str(source),
        family=family,
        device=device,
        dtype=str(dtype).replace("torch.", ""),
        options=options,
        info={"torch_dtype": dtype},
        notes=placement_notes(device, options),
    )


def load_failure(exc: BaseException, device: str, what: str, options: LoadOptions | None = None) -> Exception:
    """The engine error for a failed read: OutOfMemory when memory ran out, else ModelLoadError.

    Loaders read weights into the computer's memory (RAM) before placing them on the device, so an
    out-of-memory here is the computer's; half precision halves it where the device runs it.
    """
    from aae_desktop.engine.run import memory_advice
    from aae_desktop.engine.errors import OutOfMemory

    if memory_advice.is_out_of_memory(exc):
        options = options or LoadOptions()
        keys = memory_advice.suggestions("cpu", options, while_loading=True)
        if device in ("cuda", "mps") and str(resolve_dtype(device, options.precision)) == "torch.float32":
            keys = (memory_advice.FP16, *keys)
        return OutOfMemory("cpu", "while reading the model", keys)
    return ModelLoadError(f"{what}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
