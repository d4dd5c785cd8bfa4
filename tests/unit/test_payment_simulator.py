"""Tests for the Wonen-Vlaanderen payment system simulator (simulators/payments)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from simulators.payments.app import config_from_env, create_app
from simulators.payments.store import PaymentStore


def _payment(key: str = "fbu-case-1/payment-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": key,
        "amount": "1250.00",
        "currency": "EUR",
        "beneficiary": "OCMW-GENT",
        "reference": "FBU 2024/0001",
    }
    body.update(overrides)
    return body


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://paysim")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with _client(app) as c:
        yield c
    app.state.simulator.store.close()


# ------------------------------------------------------------------------------------------------ booking


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_books_payment(client: httpx.AsyncClient) -> None:
    r = await client.post("/payments", json=_payment(amount="99.5"))
    assert r.status_code == 201
    body = r.json()
    assert body["payment_id"].startswith("PAY-")
    assert body["idempotency_key"] == "fbu-case-1/payment-1"
    assert body["amount"] == "99.50"
    assert body["currency"] == "EUR"
    assert body["beneficiary"] == "OCMW-GENT"
    assert body["reference"] == "FBU 2024/0001"
    assert body["created_at"]
    assert body["replayed"] is False

    got = await client.get(f"/payments/{body['payment_id']}")
    assert got.status_code == 200
    assert got.json() == {k: v for k, v in body.items() if k != "replayed"}


async def test_unknown_payment_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/payments/PAY-does-not-exist")
    assert r.status_code == 404
    assert "not found" in r.json()["detail"]


async def test_identical_replay_returns_stored_payment(client: httpx.AsyncClient) -> None:
    first = await client.post("/payments", json=_payment())
    # "1250" is the same amount as "1250.00": replays compare amounts as numbers.
    second = await client.post("/payments", json=_payment(amount="1250"))
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert second.json()["payment_id"] == first.json()["payment_id"]
    assert second.json()["created_at"] == first.json()["created_at"]

    listing = (await client.get("/payments")).json()
    assert listing["count"] == 1
    assert listing["total"] == "1250.00"


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "1250.01"), ("beneficiary", "OCMW-AALST"), ("reference", "FBU 2024/0002")],
)
async def test_conflicting_replay_is_409(client: httpx.AsyncClient, field: str, value: str) -> None:
    first = await client.post("/payments", json=_payment())
    r = await client.post("/payments", json=_payment(**{field: value}))
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "fbu-case-1/payment-1" in detail
    assert first.json()["payment_id"] in detail
    assert field in detail
    assert (await client.get("/payments")).json()["count"] == 1


async def test_concurrent_identical_requests_book_once(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(client.post("/payments", json=_payment()) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["payment_id"] for r in responses}) == 1
    assert (await client.get("/payments")).json()["count"] == 1


async def test_listing_order_total_and_filter(client: httpx.AsyncClient) -> None:
    await client.post("/payments", json=_payment("k1", amount="0.10", beneficiary="OCMW-GENT"))
    await client.post("/payments", json=_payment("k2", amount="0.20", beneficiary="OCMW-AALST"))
    await client.post("/payments", json=_payment("k3", amount="1000", beneficiary="OCMW-GENT"))

    everything = (await client.get("/payments")).json()
    assert [p["idempotency_key"] for p in everything["payments"]] == ["k1", "k2", "k3"]
    assert everything["count"] == 3
    assert everything["total"] == "1000.30"  # Decimal arithmetic: no 0.30000000000000004

    gent = (await client.get("/payments", params={"beneficiary": "OCMW-GENT"})).json()
    assert [p["idempotency_key"] for p in gent["payments"]] == ["k1", "k3"]
    assert gent["total"] == "1000.10"

    empty = (await client.get("/payments", params={"beneficiary": "OCMW-NOWHERE"})).json()
    assert empty == {"payments": [], "count": 0, "total": "0.00"}


async def test_delete_resets(client: httpx.AsyncClient) -> None:
    await client.post("/payments", json=_payment("k1"))
    await client.post("/payments", json=_payment("k2"))
    r = await client.delete("/payments")
    assert r.status_code == 200
    assert r.json() == {"deleted": 2}
    assert (await client.get("/payments")).json()["count"] == 0
    assert (await client.post("/payments", json=_payment("k1"))).status_code == 201


# --------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": "0"},
        {"amount": "0.00"},
        {"amount": "-5.00"},
        {"amount": "1.234"},
        {"amount": "1e3"},
        {"amount": "12,50"},
        {"amount": " 12.50"},
        {"amount": "NaN"},
        {"amount": 12.5},  # a JSON number: money is sent as a string
        {"currency": "USD"},
        {"idempotency_key": ""},
        {"idempotency_key": "x" * 201},
        {"beneficiary": ""},
        {"unexpected": "field"},
    ],
)
async def test_invalid_payment_is_422(client: httpx.AsyncClient, overrides: dict[str, Any]) -> None:
    r = await client.post("/payments", json=_payment(**overrides))
    assert r.status_code == 422, r.text
    assert (await client.get("/payments")).json()["count"] == 0


async def test_missing_field_is_422(client: httpx.AsyncClient) -> None:
    body = _payment()
    del body["beneficiary"]
    assert (await client.post("/payments", json=body)).status_code == 422


async def test_longest_key_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.post("/payments", json=_payment("x" * 200))).status_code == 201


# ------------------------------------------------------------------------------------------------- faults


async def test_error_rate_one_gives_503_and_books_nothing() -> None:
    app = create_app(error_rate=1.0)
    async with _client(app) as client:
        for _ in range(3):
            r = await client.post("/payments", json=_payment())
            assert r.status_code == 503
            assert "not booked" in r.json()["detail"]
        assert (await client.get("/payments")).json()["count"] == 0

        await client.put("/faults", json={"error_rate": 0.0})
        assert (await client.post("/payments", json=_payment())).status_code == 201


async def test_commit_then_fail_books_and_retry_replays() -> None:
    app = create_app(commit_then_fail_rate=1.0)
    async with _client(app) as client:
        r = await client.post("/payments", json=_payment())
        assert r.status_code == 500
        assert r.json() == {"detail": "simulated failure after commit"}

        listing = (await client.get("/payments")).json()
        assert listing["count"] == 1
        booked = listing["payments"][0]

        # The fault is still active, but a replay commits nothing, so the retry learns the outcome.
        retry = await client.post("/payments", json=_payment())
        assert retry.status_code == 200
        assert retry.json()["replayed"] is True
        assert retry.json()["payment_id"] == booked["payment_id"]
        assert (await client.get("/payments")).json()["count"] == 1


async def test_latency_is_applied() -> None:
    app = create_app(latency_ms=100)
    async with _client(app) as client:
        started = time.monotonic()
        assert (await client.post("/payments", json=_payment())).status_code == 201
        assert time.monotonic() - started >= 0.09
        # reads are not delayed: latency models the booking call only
        started = time.monotonic()
        await client.get("/payments")
        assert time.monotonic() - started < 0.09


async def test_seed_makes_faults_reproducible() -> None:
    async def statuses(seed: int) -> list[int]:
        app = create_app(error_rate=0.5, seed=seed)
        async with _client(app) as client:
            return [(await client.post("/payments", json=_payment(f"k{i}"))).status_code for i in range(30)]

    first = await statuses(7)
    assert first == await statuses(7)
    assert set(first) == {201, 503}


async def test_get_and_put_faults(client: httpx.AsyncClient) -> None:
    r = await client.get("/faults")
    assert r.json() == {"error_rate": 0.0, "latency_ms": 0, "commit_then_fail_rate": 0.0}

    r = await client.put("/faults", json={"error_rate": 0.25, "latency_ms": 5, "commit_then_fail_rate": 0.5})
    assert r.status_code == 200
    assert r.json() == {"error_rate": 0.25, "latency_ms": 5, "commit_then_fail_rate": 0.5}

    # fields left out keep their value
    r = await client.put("/faults", json={"latency_ms": 0})
    assert r.json() == {"error_rate": 0.25, "latency_ms": 0, "commit_then_fail_rate": 0.5}
    assert (await client.get("/faults")).json() == r.json()


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"commit_then_fail_rate": 2},
        {"commit_then_fail_rate": "lots"},
        {"latency_ms": -1},
        {"latency_ms": 10**9},
        {"chaos": True},
    ],
)
async def test_put_faults_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.put("/faults", json=body)
    assert r.status_code == 422, r.text
    assert (await client.get("/faults")).json() == {
        "error_rate": 0.0,
        "latency_ms": 0,
        "commit_then_fail_rate": 0.0,
    }


def test_create_app_rejects_invalid_faults() -> None:
    with pytest.raises(ValueError):
        create_app(error_rate=1.1)
    with pytest.raises(ValueError):
        create_app(latency_ms=-5)


# -------------------------------------------------------------------------------------------- persistence


async def test_payments_persist_across_app_instances(tmp_path: Path) -> None:
    db = str(tmp_path / "payments.sqlite")
    first_app = create_app(db)
    async with _client(first_app) as client:
        booked = (await client.post("/payments", json=_payment(amount="10.10"))).json()
    first_app.state.simulator.store.close()

    second_app = create_app(db)
    async with _client(second_app) as client:
        listing = (await client.get("/payments")).json()
        assert listing["count"] == 1
        assert listing["payments"][0]["payment_id"] == booked["payment_id"]
        assert listing["payments"][0]["amount"] == "10.10"
        replay = await client.post("/payments", json=_payment(amount="10.10"))
        assert replay.status_code == 200
        assert replay.json()["payment_id"] == booked["payment_id"]
        conflict = await client.post("/payments", json=_payment(amount="10.11"))
        assert conflict.status_code == 409
    second_app.state.simulator.store.close()


def test_store_shared_file_books_once(tmp_path: Path) -> None:
    """Two stores on one file (as two processes would be): the UNIQUE constraint still books once."""
    db = str(tmp_path / "shared.sqlite")
    a, b = PaymentStore(db), PaymentStore(db)
    try:
        kwargs: dict[str, Any] = {
            "idempotency_key": "k",
            "amount": Decimal("5"),
            "currency": "EUR",
            "beneficiary": "OCMW-GENT",
            "reference": "r",
        }
        first, created_a = a.book(**kwargs)
        second, created_b = b.book(**kwargs)
        assert (created_a, created_b) == (True, False)
        assert first == second
        assert len(b.list_payments()) == 1
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------------------------------ configuration


def test_config_from_env() -> None:
    config = config_from_env(
        {
            "PAYSIM_HOST": "192.0.2.10",
            "PAYSIM_PORT": "9999",
            "PAYSIM_DB": "/tmp/pay.sqlite",
            "PAYSIM_ERROR_RATE": "0.1",
            "PAYSIM_LATENCY_MS": "250",
            "PAYSIM_COMMIT_THEN_FAIL_RATE": "0.05",
            "PAYSIM_SEED": "42",
        }
    )
    assert config.host == "192.0.2.10"
    assert config.port == 9999
    assert config.db_path == "/tmp/pay.sqlite"
    assert config.error_rate == 0.1
    assert config.latency_ms == 250
    assert config.commit_then_fail_rate == 0.05
    assert config.seed == 42

    defaults = config_from_env({"PAYSIM_DB": ""})
    assert (defaults.host, defaults.port, defaults.db_path, defaults.seed) == ("127.0.0.1", 8101, None, None)

    with pytest.raises(ValueError, match="PAYSIM_PORT"):
        config_from_env({"PAYSIM_PORT": "eighty"})


# ------------------------------------------------------------------------------------------------ real HTTP


@pytest.fixture
def live_server() -> Iterator[str]:
    """The simulator under a real uvicorn server in a background thread, on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound here and handed to uvicorn, so no other process can take the port
    port = sock.getsockname()[1]
    app = create_app(commit_then_fail_rate=1.0, seed=1)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn thread died"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.simulator.store.close()


async def test_real_http_server(live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=5) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}

        lost = await client.post("/payments", json=_payment())
        assert lost.status_code == 500

        retry = await client.post("/payments", json=_payment())
        assert retry.status_code == 200
        assert retry.json()["replayed"] is True

        assert (await client.put("/faults", json={"commit_then_fail_rate": 0.0})).status_code == 200
        fresh = await client.post("/payments", json=_payment("second", amount="0.01"))
        assert fresh.status_code == 201

        listing = (await client.get("/payments")).json()
        assert listing["count"] == 2
        assert listing["total"] == "1250.01"
