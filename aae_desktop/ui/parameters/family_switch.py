"""When a model of another family loads: which size and guidance follow the new family, and the note that says so.

The rule an artist can predict: a value still at the previous family's default (or, for the size,
one of its presets) was never really chosen, so it moves to the new family's equivalent (the preset
with the nearest aspect ratio: SD 1.x portrait 512 x 768 becomes SDXL portrait 832 x 1216). A value
the artist set stays, and the note says so when it is far from what the new model was trained for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from aae_desktop.engine.models.families import ModelFamily


@dataclass(frozen=True)
class FamilySwitch:
    width: int
    height: int
    guidance: float
    note: str  # "" when nothing changed and nothing needs saying


def switch_values(old: ModelFamily, new: ModelFamily, width: int, height: int, guidance: float) -> FamilySwitch:
    """The size and guidance to show once a `new`-family model replaces an `old`-family one."""
    if old.key == new.key:
        return FamilySwitch(width, height, guidance, "")
    changed, kept = [], []
    new_width, new_height = width, height
    if (width, height) in old.preset_sizes():
        new_width, new_height = _nearest_aspect(new, width / height)
        if (new_width, new_height) != (width, height):
            changed.append(f"size {width} × {height} → {new_width} × {new_height}")
    elif not 0.5 <= (width * height) / (new.default_width * new.default_height) <= 2.0:
        kept.append(f"your size {width} × {height} is kept ({new.label} draws best near "
                    f"{new.default_width} × {new.default_height})")
    new_guidance = guidance
    if math.isclose(guidance, old.default_guidance) and not math.isclose(guidance, new.default_guidance):
        new_guidance = new.default_guidance
        changed.append(f"guidance {guidance:g} → {new_guidance:g}")
    elif not math.isclose(guidance, new.default_guidance):
        kept.append(f"your guidance {guidance:g} is kept ({new.label} default: {new.default_guidance:g})")
    parts = []
    if changed:
        parts.append(f"{new.label} model: " + ", ".join(changed) + f" ({new.label} defaults).")
    if kept:
        text = "; ".join(kept)
        parts.append(text[0].upper() + text[1:] + ".")
    return FamilySwitch(new_width, new_height, new_guidance, " ".join(parts))


def _nearest_aspect(family: ModelFamily, aspect: float) -> tuple[int, int]:
    """The family's preset whose width/height ratio is closest to `aspect` (the first of equals: the default)."""
    return min(family.preset_sizes(), key=lambda size: abs(math.log(size[0] / size[1]) - math.log(aspect)))
