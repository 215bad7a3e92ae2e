"""Which weights a single-file checkpoint lacks, found from its key names alone.

diffusers fills weights a file lacks in one of two ways: with accelerate installed they stay on
the "meta" device (and fail at the first render); without it they keep their random
initialisation and the model renders noise without a word. Neither can be relied on to say
"this file is incomplete", so the file's keys are converted with diffusers' own LDM -> diffusers
key converters (on shape-only "meta" tensors: no weight is read) and compared with what the built
pipeline's components expect.
"""
from __future__ import annotations

from typing import Any

# Where each layout keeps an OpenAI-CLIP text encoder (transformers' own key names after the prefix):
# (pipeline attribute, key prefix). OpenCLIP encoders (SD 2.x, SDXL's second) are converted with
# renames and splits the tests here cannot write a file for, so their completeness is left to
# diffusers: a wrong "missing" would refuse a good model, which is worse than the rare miss.
_CLIP_TEXT_ENCODERS = {
    "clip": (("text_encoder", "cond_stage_model.transformer."),),
    "sdxl": (("text_encoder", "conditioner.embedders.0.transformer."),),
}


def missing_weights(shapes: dict[str, tuple[int, ...]], pipe: Any, layout: str) -> dict[str, list[str]]:
    """{component: sorted names of weights it needs that the file does not hold}; empty when complete.

    `shapes` is the file's {key: shape} (single_file.read_tensor_shapes); `layout` its text encoder
    layout ("clip", "open_clip", "sdxl"). A component whose keys cannot be converted is left out:
    this check must never refuse a file that diffusers itself loads completely.
    """
    import torch
    from diffusers.loaders import single_file_utils as convert

    def meta() -> dict[str, Any]:  # the converters pop keys, so each gets its own copy
        return {key: torch.empty(shape, device="meta") for key, shape in shapes.items()}

    converted: dict[str, dict[str, Any]] = {}
    try:
        converted["unet"] = convert.convert_ldm_unet_checkpoint(meta(), dict(pipe.unet.config))
        converted["vae"] = convert.convert_ldm_vae_checkpoint(meta(), dict(pipe.vae.config))
    except Exception:  # a layout these converters do not know: diffusers' own loading decides
        return {}
    for name, prefix in _CLIP_TEXT_ENCODERS.get(layout, ()):
        if getattr(pipe, name, None) is None:
            continue
        try:
            converted[name] = convert.convert_ldm_clip_checkpoint(meta(), remove_prefix=prefix)
        except Exception:
            continue
    missing = {}
    for name, keys in converted.items():
        expected = {_plain(k) for k in getattr(pipe, name).state_dict()}
        lacking = sorted(expected - {_plain(k) for k in keys})
        if lacking:
            missing[name] = lacking
    return missing


def _plain(key: str) -> str:
    # transformers versions differ on whether CLIP's keys start with "text_model.".
    return key.removeprefix("text_model.")
