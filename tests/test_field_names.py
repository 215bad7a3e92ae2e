"""Every field a message can name has a name in each front end, so no message shows a Python name."""
from __future__ import annotations

from aae_desktop.cli.render import FLAG_NAMES

# The fields the schedule notes, clip skip and eta messages name.
NAMED = ("steps", "scheduler", "clip_skip", "eta", "excite.max_iter_to_alter", "excite.thresholds")


def test_cli_names_them_by_flag():
    assert {key: FLAG_NAMES[key] for key in NAMED} == {
        "steps": "--steps", "scheduler": "--scheduler", "clip_skip": "--clip-skip", "eta": "--eta",
        "excite.max_iter_to_alter": "--max-iter-to-alter", "excite.thresholds": "--thresholds"}
