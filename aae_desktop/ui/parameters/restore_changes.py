"""What a restore had to change: values of an image that the window's boxes cannot hold.

An image made elsewhere (or with the CLI) may carry more steps, a larger seed or a finer guidance
than the boxes take (QSpinBox clamps, QDoubleSpinBox rounds to its decimals). The window then shows
other settings than the image's, and the next run makes another image: the artist must be told
which values changed and to what, not find out from a different picture.
"""
from __future__ import annotations

from typing import Any, Mapping

from aae_desktop.engine.request import SCHEDULER_LABELS, ExciteSettings, GenerationRequest

NO_SEED_NOTE = ("The image carries no seed this app can use (missing or out of range), so Seed is set to "
                "a new random one for each run.")


def changed_values(wanted: GenerationRequest, shown: Any, excite: ExciteSettings, labels: Mapping[str, str],
                   seed_known: bool = True) -> list[str]:
    """One phrase per value of `wanted` that the panel shows differently, e.g. "Steps 800 became 500".

    `shown` is the panel's BaseParameters after the restore and `excite` its Attend-and-Excite settings;
    `labels` names the fields as the panel does. The seed is left out when the image had none.
    """
    pairs: list[tuple[str, Any, Any]] = [
        ("seed", wanted.seed, shown.seed) if seed_known else ("seed", None, None),
        ("num_images", wanted.num_images, shown.num_images),
        ("steps", wanted.steps, shown.steps),
        ("guidance_scale", wanted.guidance_scale, shown.guidance_scale),
        ("width", wanted.width, shown.width),
        ("height", wanted.height, shown.height),
        ("scheduler", _sampler(wanted.scheduler), _sampler(shown.scheduler)),
        ("clip_skip", wanted.clip_skip, shown.clip_skip),
        # A sampler that takes no eta shows none: that is not a change, the image did not use it either.
        ("eta", wanted.eta, shown.eta if wanted.eta is not None and shown.eta is not None else wanted.eta),
        ("excite.max_iter_to_alter", wanted.excite.max_iter_to_alter, excite.max_iter_to_alter),
        ("excite.scale_factor", wanted.excite.scale_factor, excite.scale_factor),
        ("excite.sigma", wanted.excite.sigma, excite.sigma),
        ("excite.max_refinement_steps", wanted.excite.max_refinement_steps, excite.max_refinement_steps),
        ("excite.attn_res", _res(wanted.excite.attn_res), _res(excite.attn_res)),
    ]
    return [f"{labels.get(name, name)} {_text(want)} became {_text(got)}"
            for name, want, got in pairs if not _same(want, got)]


def restore_message(changes: list[str], seed_known: bool = True) -> list[str]:
    """The sentences the window shows after a restore (none when everything fit)."""
    sentences = [] if seed_known else [NO_SEED_NOTE]
    if changes:
        sentences.append("Some of the image's settings do not fit this window's boxes, so the next run will "
                         f"not make the same image: {'; '.join(changes)}.")
    return sentences


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b


def _sampler(key: str) -> str:
    return SCHEDULER_LABELS.get(key, key)


def _res(res: tuple[int, int] | None) -> str:
    return "Auto" if res is None else f"{res[0]}" if res[0] == res[1] else f"{res[0]}x{res[1]}"


def _text(value: Any) -> str:
    if value is None:
        return "Auto"
    return f"{value:g}" if isinstance(value, float) else str(value)
