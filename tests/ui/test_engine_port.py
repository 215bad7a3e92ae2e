"""The engine port is typed: the Engine Protocol names every method the worker calls on an engine, and
every engine (the real two, the self-test's and the UI tests' fake) has all of them, with the same
parameters, so the worker calls them directly instead of looking them up."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from aae_desktop.ui.run import worker
from aae_desktop.ui.run.engine_port import DiffusersEngine, Engine, ProcessEngine


def _protocol_members() -> set[str]:
    return {name for name in vars(Engine) if not name.startswith("_")} | set(Engine.__annotations__)


def _engine_uses_in_worker() -> set[str]:
    """Names the worker's module uses on an engine: engine.X, self._engine.X and getattr(engine, "X")."""
    def is_engine(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id == "engine") or (
            isinstance(node, ast.Attribute) and node.attr == "_engine")

    used = set()
    for node in ast.walk(ast.parse(Path(worker.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and is_engine(node.value):
            used.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and node.args and is_engine(node.args[0]) and isinstance(node.args[1], ast.Constant)):
            used.add(node.args[1].value)
    return used


def test_the_protocol_names_every_method_the_worker_calls():
    used = _engine_uses_in_worker()
    assert {"load", "generate", "check", "unload", "kill"} <= used  # the walk finds the calls at all
    assert used <= _protocol_members(), f"the worker uses {sorted(used - _protocol_members())} outside Engine"


def _fake():
    from tests.ui.conftest import FakeEngine

    return FakeEngine()


def _self_test():
    from aae_desktop.self_test import tiny_engine

    return tiny_engine()


@pytest.mark.parametrize("make", [_fake, DiffusersEngine, ProcessEngine, _self_test],
                         ids=["fake", "diffusers", "process", "self-test"])
def test_every_engine_has_every_method_with_its_parameters(make):
    engine = make()
    assert isinstance(engine, Engine)
    for name in _protocol_members():
        wanted = getattr(Engine, name, None)
        if not callable(wanted):
            continue
        have = list(inspect.signature(getattr(engine, name)).parameters)
        assert have == list(inspect.signature(wanted).parameters)[1:], name
