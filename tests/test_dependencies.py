"""Every package the app needs is declared, so a new user's fresh virtual environment has it.

CI also runs the README's test command in a brand-new venv (.ci/run); these tests name the
missing package directly instead of letting a feature fail later.
"""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import aae_desktop

PACKAGE_DIR = Path(aae_desktop.__file__).resolve().parent

# Packages diffusers uses for features the app exposes without importing them itself.
INDIRECT = {
    "accelerate": "model CPU offload, low-memory loading and the check that refuses incomplete checkpoints",
    "scipy": "the LMS scheduler",
}


def _declared() -> set[str]:
    names = set()
    for requirement in metadata.requires("aae-desktop") or []:
        if "extra ==" in requirement:
            continue
        names.add(_normalise(re.split(r"[ <>=!~;\[]", requirement, maxsplit=1)[0]))
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> set[str]:
    modules = set()
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_imported_third_party_package_is_declared():
    declared = _declared()
    owners = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    missing = {}
    for module in sorted(_imported_top_level_modules()):
        if module in stdlib or module == "aae_desktop" or module == "__future__":
            continue
        distributions = {_normalise(d) for d in owners.get(module, [])}
        assert distributions, f"{module} is imported by aae_desktop but not installed at all"
        if not distributions & declared:
            missing[module] = sorted(distributions)
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"


def test_packages_diffusers_needs_for_our_features_are_declared():
    declared = _declared()
    missing = {name: why for name, why in INDIRECT.items() if name not in declared}
    assert not missing, f"declare these in pyproject.toml: {missing}"


def test_diffusers_sees_them():
    from diffusers.utils import is_accelerate_available, is_scipy_available

    assert is_accelerate_available()
    assert is_scipy_available()
