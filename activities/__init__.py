"""The activities: every piece of I/O a workflow asks for (the event log, rule books, payments, netbeheerders).

Each implements a declaration in ``workflows/contracts.py`` and is registered under its name by ``implements``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity

F = TypeVar("F", bound=Callable[..., Any])


def implements(declaration: Callable[..., Any]) -> Callable[[F], F]:
    """``@activity.defn`` under the declaration's name, so each activity name is written once."""
    return activity.defn(name=declaration.__name__)
