"""PNG metadata: the full request as JSON in an `aae` text chunk (the source of truth for restore)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aae_desktop.engine.request import GenerationRequest

AAE_CHUNK = "aae"


def request_json(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    data = request.to_dict()
    if extra:
        data.update(extra)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def png_info(request: GenerationRequest, extra: dict[str, Any] | None = None) -> PngInfo:
    """Text chunks for a saved image; JSON may hold non-Latin-1 text, so it goes in iTXt."""
    info = PngInfo()
    info.add_itxt(AAE_CHUNK, request_json(request, extra))
    return info


def read_request(path: str | Path) -> GenerationRequest | None:
    """The request embedded by png_info(), or None when the PNG carries none."""
    with Image.open(path) as img:
        text = getattr(img, "text", {}) or {}
        raw = text.get(AAE_CHUNK)
    if raw is None:
        return None
    return GenerationRequest.from_dict(json.loads(raw))
