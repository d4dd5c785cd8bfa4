"""The typed boundaries between the layers hold: every activity the workflows declare is implemented with the
same name and signature, and every update and signal is registered under its method's name (the API derives
route names and update ids from the methods)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pytest
from temporalio import activity
from temporalio.workflow import _Definition

from vangnet.platform.settings import Settings
from worker.main import WORKFLOWS, activities_for
from workflows import contracts

DECLARED = {name: fn for name, fn in inspect.getmembers(contracts, inspect.iscoroutinefunction)
            if hasattr(fn, "__temporal_activity_definition")}


def _hints(fn: Any) -> dict[str, Any]:
    hints = get_type_hints(fn)
    return {k: v for k, v in hints.items() if k != "self"}


@pytest.fixture(scope="module")
def implementations() -> dict[str, Any]:
    found = activities_for(client=None, pool=None, http=httpx.AsyncClient(), settings=Settings())
    return {str(activity._Definition.must_from_callable(fn).name): fn for fn in found}


def test_every_declared_activity_is_implemented_with_its_signature(implementations: dict[str, Any]) -> None:
    assert len(DECLARED) >= 8
    assert set(DECLARED) == set(implementations), "declared and registered activities differ"
    for name, declaration in DECLARED.items():
        assert _hints(implementations[name]) == _hints(declaration), f"{name}: signature differs from its contract"


BY_NAME = {"execute_activity", "execute_local_activity", "start_activity", "start_local_activity", "signal",
           "execute_update", "start_update", "start_child_workflow", "execute_child_workflow"}


@pytest.mark.parametrize("package", ["workflows", "api", "vangnet", "worker"])
def test_no_activity_signal_update_or_child_is_called_by_a_string_name(package: str) -> None:
    root = Path(__file__).resolve().parents[2] / package
    found = []
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BY_NAME
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append(f"{source.relative_to(root.parent)}:{node.lineno} {node.func.attr}")
    assert not found, found


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda w: w.__name__)
def test_updates_and_signals_are_registered_under_their_method_names(wf: type) -> None:
    definition = _Definition.must_from_class(wf)
    for name, update in definition.updates.items():
        assert update.fn.__name__ == name, f"{wf.__name__}: update {name} is method {update.fn.__name__}"
    for name, signal in definition.signals.items():
        if name is not None:
            assert signal.fn.__name__ == name, f"{wf.__name__}: signal {name} is method {signal.fn.__name__}"
