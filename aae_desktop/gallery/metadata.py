"""PNG text chunks: A1111 `parameters` for other tools plus the full request JSON (`aae`) for restore."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from aae_desktop.engine.errors import InvalidRequest
from aae_desktop.engine.request import GenerationRequest
from aae_desktop.gallery.a1111 import format_parameters, request_from_parameters, seed_in_parameters

AAE_CHUNK = "aae"
PARAMETERS_CHUNK = "parameters"


def request_json(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    data = request.to_dict()
    if extra:
        data.update(extra)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def excited_words(request: GenerationRequest, tokenizer: Any | None = None) -> list[str]:
    """The words behind the request's token indices (for the human-readable `AAE tokens` field)."""
    if tokenizer is None or not request.excite.enabled:
        return []
    from aae_desktop.engine.tokens import tokenize_request

    try:
        return [w.text for w in tokenize_request(tokenizer, request).words_for_indices(request.excite.token_indices)]
    except Exception:  # a label is never worth failing a save over
        return []


def bound_words(request: GenerationRequest, tokenizer: Any | None = None) -> str | None:
    """The bound pairs as words ('red>cat, black+white>dog') for the `AAE bind` field; None without
    active binding. Without `tokenizer` the bundled CLIP one names the words (all SD models split
    words alike), so every caller of png_info writes the field."""
    if not request.bind.active:
        return None
    from aae_desktop.engine.objectives.binding_words import bind_text
    from aae_desktop.engine.tokens import load_tokenizer, tokenize_request

    try:
        return bind_text(request.bind, tokenize_request(tokenizer or load_tokenizer(), request))
    except Exception:  # a label is never worth failing a save over; the aae chunk has the indices
        return None


def boxed_words(request: GenerationRequest, tokenizer: Any | None = None) -> str | None:
    """The boxes as words ('cat:0,0.3,0.5,1; frog:0.5,0.3,1,1') for the `AAE boxes` field; None without
    active boxes. Named by the bundled CLIP tokenizer when none is given, as bound_words."""
    if not request.boxes.active:
        return None
    from aae_desktop.engine.tokens import load_tokenizer, tokenize_request
    from aae_desktop.gallery.box_words import box_text

    try:
        return box_text(request.boxes, tokenize_request(tokenizer or load_tokenizer(), request))
    except Exception:  # a label is never worth failing a save over; the aae chunk has the indices
        return None


def png_info(
    request: GenerationRequest,
    extra: dict[str, Any] | None = None,
    *,
    model_name: str | None = None,
    model_hash: str | None = None,
    words: list[str] | None = None,
    version: str | None = None,
    scheduler_class: str | None = None,
    bind_words: str | None = None,
    box_words: str | None = None,
) -> PngInfo:
    """Text chunks for a saved image.

    The A1111 `parameters` text goes in tEXt (what most readers expect) when it is Latin-1 and in
    iTXt (UTF-8) otherwise, since tEXt cannot hold other characters. The request JSON always goes
    in iTXt, as any prompt may be non-Latin-1.
    """
    if version is None:
        from aae_desktop import __version__ as version
    # An image records the schedule it ran with, never "follow the step count" (see engine/run/schedule.py).
    request = request.resolved()
    info = PngInfo()
    text = format_parameters(request, model_name=model_name, model_hash=model_hash, words=words, version=version,
                             scheduler_class=scheduler_class, bind_words=bind_words or bound_words(request),
                             box_words=box_words or boxed_words(request))
    if is_latin1(text):
        info.add_text(PARAMETERS_CHUNK, text)
    else:
        info.add_itxt(PARAMETERS_CHUNK, text)
    info.add_itxt(AAE_CHUNK, request_json(request, extra))
    return info


def read_text_chunks(path: str | Path) -> dict[str, str]:
    """All text chunks of an image (tEXt, zTXt and iTXt alike); {} for an image without any.

    Raises ValueError with a readable message when the file is not an image.
    """
    try:
        with Image.open(path) as img:
            text = dict(getattr(img, "info", {}))
            if AAE_CHUNK not in text and PARAMETERS_CHUNK not in text:
                # Some tools write their chunks after the pixels: only decoding reaches them.
                img.load()
                text = getattr(img, "text", None) or {}
            text = {k: v for k, v in text.items() if isinstance(v, str)}
            return {str(k): str(v) for k, v in text.items()}
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # ValueError: Pillow's limit on decompressed text chunks; DecompressionBombError: absurd sizes.
        raise ValueError(f"{Path(path).name} is not an image this app can read ({exc}).") from exc


def parse_request_json(raw: str) -> GenerationRequest:
    """A request from the `aae` chunk's text; InvalidRequest for anything that is not one.

    The text comes from a file anyone can write: besides bad JSON, a value nested deeper than
    Python's recursion limit is a real (and cheap) way to make json.loads raise RecursionError.
    """
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"The saved settings are not valid JSON ({exc}).") from exc
    except RecursionError:
        raise InvalidRequest("The saved settings are nested too deeply to be settings.") from None
    return GenerationRequest.from_dict(data)


def read_request(path: str | Path) -> GenerationRequest | None:
    """The request embedded by png_info(), or None when the PNG carries none."""
    raw = read_text_chunks(path).get(AAE_CHUNK)
    if raw is None:
        return None
    return parse_request_json(raw)


@dataclass(frozen=True)
class RestoredSettings:
    request: GenerationRequest
    source: str  # "aae" (everything) or "a1111" (what the parameters text carries)
    # False: the file held no seed a request can use, and request.seed is only the default (0); a
    # restore then draws a new seed (a1111.seed_in_parameters).
    seed_known: bool = True


def restore_from_png(path: str | Path, model: str = "", tokenizer: Any | None = None) -> RestoredSettings:
    """Settings carried by any PNG: ours (full request) first, then A1111 `parameters` text.

    Raises ValueError with a message for the artist when the file holds nothing usable.
    """
    name = Path(path).name
    chunks = read_text_chunks(path)
    if AAE_CHUNK in chunks:
        try:
            return RestoredSettings(parse_request_json(chunks[AAE_CHUNK]), "aae")
        except InvalidRequest:
            pass  # fall back to the A1111 text below
    if PARAMETERS_CHUNK in chunks:
        try:
            text = chunks[PARAMETERS_CHUNK]
            return RestoredSettings(request_from_parameters(text, model, tokenizer), "a1111",
                                    seed_in_parameters(text) is not None)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
    raise ValueError(f"{name} carries no generation settings (no Attend-and-Excite or A1111 metadata).")
