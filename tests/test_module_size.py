"""No module in aae_desktop/ is over 400 lines: past that a module holds more than one purpose (#21)."""
from __future__ import annotations

from pathlib import Path

import aae_desktop

ROOT = Path(aae_desktop.__file__).parent
LIMIT = 400


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(ROOT.parent)): len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.rglob("*.py")}
    assert len(sizes) > 100  # the walk found the package
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
