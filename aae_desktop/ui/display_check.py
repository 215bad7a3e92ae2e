"""Before the window opens on Linux: is there a display, and can Qt's X11 plugin load? (No Qt imported.)

Without a display, or with a system library its X11 plugin needs missing, Qt prints "could not
load the Qt platform plugin" and aborts the whole process. Here the same conditions become one
sentence that names what is missing and the package that provides it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping

# Platforms that need no windowing system (tests, the self-test, VNC, framebuffers).
_HEADLESS_PLATFORMS = {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"}


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                    plugin: Path | None = None, missing_libraries: Callable[[Path], list[str]] | None = None,
                    connects: Callable[[str], bool] | None = None) -> str | None:
    """None when the window can open; otherwise one sentence saying why not and what to do.

    The parameters exist for tests; by default they describe this process and this machine.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    requested = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if requested in _HEADLESS_PLATFORMS:
        return None
    if env.get("WAYLAND_DISPLAY") and requested in ("", "wayland", "wayland-egl"):
        return None  # Qt's Wayland plugin; should it fail, Qt falls back to X11 on its own
    display = env.get("DISPLAY", "")
    if not display:
        return ("the window needs a graphical desktop, and none was found (DISPLAY and WAYLAND_DISPLAY are not set). "
                "Start it from a desktop session; the commands (aae-desktop render, gallery, models, tokens) work "
                "without one.")
    plugin = plugin if plugin is not None else _xcb_plugin()
    if plugin is not None:
        missing = (missing_libraries or _missing_libraries)(plugin)
        if missing:
            packages = " ".join(debian_package(name) for name in missing)
            return (f"the window needs system libraries that are missing: {', '.join(missing)}. On Debian/Ubuntu: "
                    f"sudo apt install {packages} (other systems: the packages that provide these files). "
                    "The commands (aae-desktop render, gallery, models, tokens) work without them.")
    if not (connects or _x11_connects)(display):
        return (f"the window cannot reach the display {display} (no X server answers there). Check DISPLAY, or "
                "start it from a desktop session.")
    return None


def debian_package(soname: str) -> str:
    """Debian's library package naming: libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    name, _, version = soname.partition(".so.")
    name = name.lower()
    major = version.split(".")[0]
    return f"{name}-{major}" if name[-1:].isdigit() else f"{name}{major}"


def _xcb_plugin() -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _missing_libraries(plugin: Path) -> list[str]:
    """Every shared library the plugin needs that the system lacks (ldd lists them all; dlopen names one)."""
    if shutil.which("ldd"):
        try:
            out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        missing = re.findall(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE)
        if missing or out:
            return list(dict.fromkeys(missing))
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.match(r"([^:\s]+\.so[.\d]*):", str(exc))
        return [found.group(1)] if found else []
    return []


def _x11_connects(display: str) -> bool:
    """Ask libxcb to connect, as Qt will; True when it cannot even be tried (Qt then says why)."""
    name = ctypes.util.find_library("xcb")
    if not name:
        return True
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        connection = xcb.xcb_connect(display.encode(), None)
        failed = xcb.xcb_connection_has_error(connection)
        xcb.xcb_disconnect(connection)
        return not failed
    except (OSError, AttributeError):
        return True
