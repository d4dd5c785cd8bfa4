"""Helpers every ``vangnet`` command shares: one-line failures, the guarded runner, settings, dates, a connection."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer

from vangnet.platform.logging import configure_logging
from vangnet.platform.settings import Settings, get_settings
from vangnet.rulebooks.rulebook import RuleBookError
from vangnet.security.tokens import TokenError
from vangnet.services.schedules import ScheduleConfigError
from vangnet.stack.embedded import EmbeddedError
from vangnet.stack.runtime import ConfigError, check_database, database_url
from vangnet.storage.db import MigrationError

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.secho(f"vangnet: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body; known failures become one clear line, Ctrl-C a quiet exit."""
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


def setup(console: bool = False) -> Settings:
    """The settings, with logging configured for a command (``console`` for a person at a terminal)."""
    settings = get_settings()
    configure_logging("console" if console else settings.log_format, settings.log_level)
    return settings


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{what} must be a date like 2026-11-23, not '{value}'") from None


def with_db(settings: Settings, work: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``work`` with one connection to the configured database (checked first, closed after)."""

    async def run() -> None:
        url = database_url(settings)
        await check_database(url)
        conn = await asyncpg.connect(url)
        try:
            await work(conn)
        finally:
            await conn.close()

    guarded(lambda: asyncio.run(run()))
