"""Wiring shared by the CLI commands: where the database is, and the API's run-time context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from api.context import ApiContext
from vangnet.platform.settings import Settings
from vangnet.platform.temporal_client import connect
from vangnet.security.tokens import TokenVerifier, load_or_create_key
from vangnet.stack.embedded import DATABASE
from vangnet.storage.db import create_pool
from vangnet.storage.eventstore import StreamStarts


class ConfigError(RuntimeError):
    """Configuration that cannot work; reported as one line."""


def embedded_database_url(var_dir: Path) -> str:
    return f"postgresql://postgres:@/{DATABASE}?host={(var_dir / 'pg').resolve()}"


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_database_url(settings.var_dir)


def verifier(settings: Settings) -> TokenVerifier:
    if settings.token_jwks_url:
        return TokenVerifier(issuer=settings.token_issuer, audience=settings.token_audience,
                             jwks_url=settings.token_jwks_url)
    return TokenVerifier(issuer=settings.token_issuer, audience=settings.token_audience,
                         key=load_or_create_key(settings.key_file))


async def check_database(url: str) -> None:
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach PostgreSQL at the configured database URL: {exc}") from exc
    await conn.close()


Closer = Callable[[], Awaitable[None]]


def api_context_factory(settings: Settings) -> Callable[[], Awaitable[tuple[ApiContext, Closer]]]:
    async def factory() -> tuple[ApiContext, Callable[[], Awaitable[None]]]:
        url = database_url(settings)
        await check_database(url)
        pool = await create_pool(url, min_size=settings.database_pool_min, max_size=settings.database_pool_max)
        client = await connect(settings)
        stream_starts = StreamStarts(url)
        ctx = ApiContext(settings=settings, client=client, pool=pool, verifier=verifier(settings),
                         task_queue=settings.temporal_task_queue, stream_starts=stream_starts)

        async def close() -> None:
            await stream_starts.close()
            await pool.close()

        return ctx, close

    return factory
