"""Reading values from files other programs may have written: each one checked against the type it must be.

Saved settings and PNG metadata are untrusted input (see issue 13's odd PNGs): a value of the wrong
type, an out-of-range whole number or a non-finite float raises TypeError/ValueError here, which the
caller turns into one sentence instead of a crash deep inside the engine.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

SEED_LIMIT = 2**63  # torch.Generator seeds are signed 64-bit; no whole number a request holds is larger


def read_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{value!r} is not a whole number")
    number = int(value) if not isinstance(value, float) or value.is_integer() else None
    if number is None or not -SEED_LIMIT <= number < SEED_LIMIT:
        raise ValueError(f"{value!r} is not a whole number a request can hold")
    return number


def read_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def read_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def read_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not true or false")
    return value


def read_pair(read: Any) -> Any:
    def pair(value: Any) -> tuple:
        items = tuple(read(v) for v in value)
        if len(items) != 2:
            raise ValueError(f"{value!r} is not two values")
        return items
    return pair


def read_token_indices(value: Any) -> tuple[int, ...]:
    indices = tuple(read_int(i) for i in value)
    if any(not 0 <= i < 1000 for i in indices):  # CLIP has 77 positions
        raise ValueError(f"token indices {list(indices)} are not positions in a prompt")
    return indices


def read_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > 100:
        raise TypeError(f"{value!r} is not a short list")
    return list(value)


READERS_BY_TYPE = {"str": read_str, "int": read_int, "float": read_float, "bool": read_bool}
def typed_fields(kind: type, data: Mapping[str, Any], readers: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass `kind`'s fields found in `data`, each read as its annotated type.

    `readers` overrides a field's reader (None skips the field); "T | None" fields accept null.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.name not in data or readers.get(f.name, True) is None:
            continue
        value = data[f.name]
        annotation = str(f.type).replace(" ", "")
        optional = annotation.endswith("|None")
        if value is None and optional:
            values[f.name] = None
            continue
        read = readers.get(f.name) or READERS_BY_TYPE.get(annotation.removesuffix("|None"))
        if read is None:
            raise TypeError(f"{f.name} cannot be read from saved settings")
        try:
            values[f.name] = read(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise type(exc)(f"{f.name}: {exc}") from exc
    return values
