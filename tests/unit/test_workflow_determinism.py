"""Workflow code is deterministic: a check of its source, for what the sandbox no longer sees.

The workflow helper modules are passed through the sandbox (``worker/sandbox.py``: re-importing them for every
workflow run cost about 90 ms of CPU), so the sandbox's own refusal of the clock, randomness and I/O no longer
applies to them. This reads every module under ``workflows/`` instead: only the imports a workflow may use, no
wall clock, no builtin that reads the outside world or differs between processes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from worker.sandbox import PASSTHROUGH, WORKFLOW_HELPERS

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
MODULES = sorted(p for p in WORKFLOWS_DIR.glob("*.py") if p.name != "__init__.py")

ALLOWED_IMPORTS = {
    "__future__", "asyncio", "collections", "collections.abc", "contextlib", "dataclasses", "datetime", "decimal",
    "enum", "functools", "itertools", "typing",
}
ALLOWED_PACKAGES = ("temporalio", "schemas", "workflows")
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
FORBIDDEN_BUILTINS = {"open", "input", "hash", "id", "breakpoint", "exec", "eval"}


def imported_modules(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def nondeterministic_calls(tree: ast.Module) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in CLOCK_CALLS:
            found.append(f"{f.value.id}.{f.attr}() on line {node.lineno}")
        if isinstance(f, ast.Name) and f.id in FORBIDDEN_BUILTINS:
            found.append(f"{f.id}() on line {node.lineno}")
    return found


def defines_workflow(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ClassDef) and any("workflow.defn" in ast.unparse(d) for d in node.decorator_list)
        for node in tree.body
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_workflow_module_imports_only_deterministic_modules(path: Path) -> None:
    tree = ast.parse(path.read_text())
    odd = [m for m in imported_modules(tree)
           if m not in ALLOWED_IMPORTS and m.split(".")[0] not in ALLOWED_PACKAGES]
    assert odd == [], f"{path.name} imports {odd}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_workflow_module_reads_no_clock_and_no_outside_world(path: Path) -> None:
    assert nondeterministic_calls(ast.parse(path.read_text())) == [], path.name


def test_every_helper_and_no_workflow_definition_is_passed_through() -> None:
    """A new helper module is passed through (or its absence shows here); a module that defines a workflow class
    stays in the sandbox, which keeps checking it at run time."""
    helpers = {f"workflows.{p.stem}" for p in MODULES if not defines_workflow(ast.parse(p.read_text()))}
    assert set(WORKFLOW_HELPERS) == helpers
    assert all(h in PASSTHROUGH for h in helpers)


def test_the_check_finds_what_it_looks_for() -> None:
    source = "import random\nfrom datetime import datetime\nx = datetime.now()\ny = hash('a')\n"
    tree = ast.parse(source)
    assert "random" in imported_modules(tree)
    assert nondeterministic_calls(tree) == ["datetime.now() on line 3", "hash() on line 4"]
