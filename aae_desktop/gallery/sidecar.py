"""Attention maps and loss history stored next to an image (`<name>.attn.npz`) so heat maps survive restarts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aae_desktop.atomic_write import atomic_write
from aae_desktop.engine.events import LossRecord

if TYPE_CHECKING:
    import numpy as np

# numpy is imported inside the functions: the window imports this module at start-up, and numpy
# costs a noticeable part of a second there.
SIDECAR_SUFFIX = ".attn.npz"
_PHASE_CODES = {"exciting": 0, "refining": 1, "binding": 2, "boxes": 3}  # unknown codes read as exciting
_PHASE_NAMES = {v: k for k, v in _PHASE_CODES.items()}


@dataclass
class AttentionData:
    maps: dict[int, np.ndarray] = field(default_factory=dict)  # token index -> (h, w) float32
    loss_history: list[LossRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.maps or self.loss_history)


def sidecar_path(image_path: str | Path) -> Path:
    path = Path(image_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def save_attention(image_path: str | Path, data: AttentionData) -> Path | None:
    """Write the sidecar atomically (temp file + rename); nothing is written for empty data.

    Maps are stored as float16: a 16x16 map per word is a few hundred bytes.
    """
    if not data:
        return None
    import numpy as np

    target = sidecar_path(image_path)
    tokens = sorted(data.maps)
    all_tokens = sorted({t for r in data.loss_history for t in r.token_max_attention} | set(tokens))
    arrays: dict[str, np.ndarray] = {f"map_{t}": np.asarray(data.maps[t], dtype=np.float16) for t in tokens}
    history = data.loss_history
    arrays["loss_step"] = np.array([r.step for r in history], dtype=np.int32)
    arrays["loss_phase"] = np.array([_PHASE_CODES.get(r.phase, 0) for r in history], dtype=np.int8)
    arrays["loss_value"] = np.array([r.loss for r in history], dtype=np.float32)
    arrays["tma_tokens"] = np.array(all_tokens, dtype=np.int32)
    # token max attention per record, NaN where a record lacks a token
    tma = np.full((len(history), len(all_tokens)), np.nan, dtype=np.float32)
    for row, record in enumerate(history):
        for col, token in enumerate(all_tokens):
            if token in record.token_max_attention:
                tma[row, col] = record.token_max_attention[token]
    arrays["tma"] = tma
    return atomic_write(target, lambda handle: np.savez_compressed(handle, **arrays), prefix=".",
                        suffix=".npz.part")


def load_attention(image_path: str | Path) -> AttentionData:
    """The maps stored next to an image; empty data when there is no (readable) sidecar."""
    path = sidecar_path(image_path)
    if not path.is_file():
        return AttentionData()
    import numpy as np

    try:
        with np.load(path) as npz:
            maps = {int(k[4:]): npz[k].astype(np.float32) for k in npz.files if k.startswith("map_")}
            steps, phases, values = npz["loss_step"], npz["loss_phase"], npz["loss_value"]
            tokens, tma = npz["tma_tokens"], npz["tma"]
            history = []
            for row in range(len(steps)):
                attention = {int(t): float(tma[row, c]) for c, t in enumerate(tokens) if not np.isnan(tma[row, c])}
                history.append(LossRecord(int(steps[row]), _PHASE_NAMES.get(int(phases[row]), "exciting"),
                                          float(values[row]), attention))
    except (OSError, ValueError, KeyError):
        return AttentionData()
    return AttentionData(maps, history)
