"""Keeps the app off the network: Hugging Face offline switches, set before the libraries read them.

huggingface_hub, transformers and diffusers read HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE once, at
import time, into module constants. `enforce_offline()` therefore runs from
`aae_desktop/engine/__init__.py` (before any engine module imports diffusers) and, for the case
where a library was imported first anyway, also flips the constants it already cached.

The one sanctioned network path is engine/models/download.py, which opens a short window with
`network_allowed()` while the user has clicked "Download".
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

# Values the libraries read; "1" means "never ask the Hub, use local files only".
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",  # diffusers' and transformers' own telemetry opt-out
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",  # never read a stored token just to talk to the Hub
}

# Set AAE_ALLOW_NETWORK=1 only to debug; the app itself never sets it.
ALLOW_ENV = "AAE_ALLOW_NETWORK"

_lock = threading.RLock()
_window_depth = 0


def enforce_offline() -> None:
    """Switch every Hugging Face library to local-files-only mode (idempotent)."""
    if os.environ.get(ALLOW_ENV) == "1":
        return
    for name, value in OFFLINE_ENV.items():
        os.environ[name] = value
    _set_cached_constants(offline=True)


def is_offline() -> bool:
    """True while huggingface_hub refuses HTTP requests (it checks its constant per request)."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        return bool(constants.HF_HUB_OFFLINE)
    return os.environ.get("HF_HUB_OFFLINE") == "1"


@contextlib.contextmanager
def network_allowed() -> Iterator[None]:
    """Let huggingface_hub reach the Hub inside this block only (the user-clicked download).

    huggingface_hub checks `constants.HF_HUB_OFFLINE` on every request, so flipping it is enough;
    the environment stays offline so nothing imported meanwhile starts online. Nested and
    concurrent windows are counted so the last one to close switches the network off again.
    """
    global _window_depth
    import huggingface_hub.constants as constants

    with _lock:
        _window_depth += 1
        constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        with _lock:
            _window_depth -= 1
            if _window_depth == 0 and os.environ.get(ALLOW_ENV) != "1":
                constants.HF_HUB_OFFLINE = True


def _set_cached_constants(offline: bool) -> None:
    # Only modules already imported need patching; later imports read the environment set above.
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        hub_constants.HF_HUB_OFFLINE = offline
        hub_constants.HF_HUB_DISABLE_TELEMETRY = True
    for module_name in ("diffusers.utils.hub_utils", "diffusers.loaders.lora_base", "diffusers.models.attention_dispatch"):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "HF_HUB_OFFLINE"):
            module.HF_HUB_OFFLINE = offline
