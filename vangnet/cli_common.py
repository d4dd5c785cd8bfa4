"""Helpers every ``vangnet`` command shares: one-line failures, the guarded runner, settings, date options."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from typing import NoReturn, TypeVar

import typer

from vangnet.settings import Settings, get_settings

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.secho(f"vangnet: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body; known failures become one clear line, Ctrl-C a quiet exit."""
    from vangnet.db import MigrationError
    from vangnet.embedded import EmbeddedError
    from vangnet.retention_schedule import ScheduleConfigError
    from vangnet.rulebook import RuleBookError
    from vangnet.runtime import ConfigError
    from vangnet.tokens import TokenError

    try:
        return fn()
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except (ConfigError, EmbeddedError, MigrationError, TokenError, RuleBookError, ScheduleConfigError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.strerror or exc} ({getattr(exc, 'filename', '') or 'network'})") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("asyncpg", "temporalio")):
            raise fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        raise


def run_client_command(fn: Callable[[], object]) -> NoReturn:
    """``guarded`` for a short command that uses a Temporal client, ended with ``os._exit``.

    The client's Rust runtime keeps threads that can abort the interpreter while it finalises ("PyGILState_Release
    … must be current", temporalio/sdk-python#300), turning a finished command into exit code -6. Output is
    flushed first, so nothing the command printed is lost.
    """
    code = 0
    try:
        guarded(fn)
    except typer.Exit as exc:
        code = exc.exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _setup(console: bool = False) -> Settings:
    from vangnet.logging import configure_logging

    settings = get_settings()
    configure_logging("console" if console else settings.log_format, settings.log_level)
    return settings


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{what} must be a date like 2026-11-23, not '{value}'") from None
