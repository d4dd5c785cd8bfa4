"""Tests for the callback signature (schemas.netbeheerder) and the netbeheerder simulator (simulators/netbeheerder).

The simulator runs in the test's event loop through ``httpx.ASGITransport`` (its background tasks too) and calls
back a real receiver served over HTTP in a thread; the lifespan tests serve the simulator itself over HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from schemas.netbeheerder import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Callback,
    NetbeheerderRequest,
    sign,
    signature_headers,
    verify,
)
from simulators.netbeheerder import app as sim_module
from simulators.netbeheerder.app import SimulatorConfig, config_from_env, create_app
from tests.conftest import LiveServer, free_port, serve_in_thread

SECRET = "nb-test-secret"
EAN = "541448820000000015"
BODY = b'{"event_id":"e-1","type":"debt_updated"}'

# ------------------------------------------------------------------------------------------------ signing


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == "sha256=" + expected


def test_verify_accepts_a_valid_signature() -> None:
    now = time.time()
    headers = signature_headers(SECRET, BODY, int(now))
    assert verify([SECRET], headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now)


def test_verify_refuses_forged_body_and_wrong_secret() -> None:
    ts = 1_700_000_000
    signature = sign(SECRET, ts, BODY)
    assert not verify([SECRET], str(ts), signature, BODY.replace(b"e-1", b"e-2"), ts)
    assert not verify(["another-secret"], str(ts), signature, BODY, ts)
    assert not verify([SECRET], str(ts + 1), signature, BODY, ts)  # the timestamp is signed too
    assert not verify([], str(ts), signature, BODY, ts)


def test_verify_accepts_either_secret_during_a_rotation() -> None:
    ts = 1_700_000_000
    assert verify(["old-secret", "new-secret"], str(ts), sign("new-secret", ts, BODY), BODY, ts)
    assert verify(["old-secret", "new-secret"], str(ts), sign("old-secret", ts, BODY), BODY, ts)


@pytest.mark.parametrize(("offset", "valid"), [(-301, False), (-300, True), (300, True), (301, False)])
def test_verify_time_window(offset: int, valid: bool) -> None:
    now = 1_700_000_000.0
    ts = int(now) + offset
    assert verify([SECRET], str(ts), sign(SECRET, ts, BODY), BODY, now) is valid


@pytest.mark.parametrize(("timestamp", "signature"), [
    (None, "sha256=00"), ("1700000000", None), ("", "sha256=00"), ("1700000000", ""),
])
def test_verify_refuses_missing_headers(timestamp: str | None, signature: str | None) -> None:
    ts = 1_700_000_000
    if signature == "sha256=00":
        signature = sign(SECRET, ts, BODY)
    assert not verify([SECRET], timestamp, signature, BODY, ts)


@pytest.mark.parametrize("timestamp", ["abc", "1_700_000_000", "+1700000000", " 1700000000", "1700000000.0",
                                       "١٧٠٠٠٠٠٠٠٠"])
def test_verify_refuses_malformed_timestamps(timestamp: str) -> None:
    ts = 1_700_000_000
    assert not verify([SECRET], timestamp, sign(SECRET, ts, BODY), BODY, ts)


def test_verify_refuses_a_non_ascii_signature_without_raising() -> None:
    ts = 1_700_000_000
    assert not verify([SECRET], str(ts), "sha256=é", BODY, ts)


def test_wire_models_refuse_unknown_fields_bad_eans_and_naive_times() -> None:
    request = {"idempotency_key": "k", "type": "load_topup", "ean": EAN, "energy": "gas", "netbeheerder": "fluvius",
               "params": {"amount": "60.00"}, "callback_url": "http://x/cb"}
    NetbeheerderRequest.model_validate(request)
    for bad in ({"extra": 1}, {"ean": EAN[:-1]}, {"ean": "٥" * 18}, {"type": "cut_off"}, {"energy": "water"},
                {"idempotency_key": ""}, {"idempotency_key": "k" * 201}):
        with pytest.raises(ValidationError):
            NetbeheerderRequest.model_validate({**request, **bad})
    callback = {"event_id": "e", "type": "debt_updated", "ean": EAN, "energy": "gas", "netbeheerder": "fluvius",
                "occurred_at": "2027-01-05T10:00:00+01:00", "request_key": None, "data": {"total_debt": "149.99"}}
    Callback.model_validate(callback)
    bad_callbacks: list[dict[str, Any]] = [{"occurred_at": "2027-01-05T10:00:00"}, {"type": "invoice_lost"},
                                           {"more": True}]
    for bad_cb in bad_callbacks:
        with pytest.raises(ValidationError):
            Callback.model_validate({**callback, **bad_cb})


# --------------------------------------------------------------------------------------------- receiver


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def verified(self, secrets: list[str] | None = None) -> bool:
        return verify(secrets or [SECRET], self.headers.get(TIMESTAMP_HEADER.lower()),
                      self.headers.get(SIGNATURE_HEADER.lower()), self.body, time.time())

    def callback(self) -> Callback:
        return Callback.model_validate_json(self.body)


@dataclass
class Receiver:
    """Vangnet's callback endpoint, stripped down: records every POST; can answer with given statuses first."""

    live: LiveServer | None = None
    hits: list[Hit] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        assert self.live is not None
        return f"{self.live.url}/cb/{path}"

    def at(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/cb/{path}")
        async def receive(path: str, request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.hits.append(Hit(path, dict(request.headers), body, time.time()))
                script = self.scripted.get(path)
                code = script.pop(0) if script else 202
            return Response(status_code=code)

        return app


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.live = serve_in_thread(rec.app())
    yield rec
    rec.live.stop()


@pytest.fixture
def path() -> str:
    """A callback path of this test's own, so tests sharing the receiver do not see each other's callbacks."""
    return uuid.uuid4().hex


SimFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Build simulators in the test's loop; their background work is cancelled afterwards."""
    apps: list[FastAPI] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**kwargs: Any) -> httpx.AsyncClient:
        app = create_app(**{"secret": SECRET, "delay_ms": 10, "seed": 1, **kwargs})
        apps.append(app)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbsim")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.simulator.aclose()
        app.state.simulator.store.close()


async def wait_until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def only_record(sim: httpx.AsyncClient, ready: Callable[[dict[str, Any]], bool],
                      within: float = 5.0) -> dict[str, Any]:
    """The simulator's single request record, once ``ready`` holds for it."""
    deadline = time.monotonic() + within
    while True:
        [record] = (await sim.get("/v1/requests")).json()["requests"]
        if ready(record):
            return record
        assert time.monotonic() < deadline, record
        await asyncio.sleep(0.01)


def request_body(callback_url: str, key: str | None = None, type_: str = "request_takeover",
                 params: dict[str, Any] | None = None, energy: str = "gas") -> dict[str, Any]:
    return {"idempotency_key": key or f"case-1:{type_}:{uuid.uuid4().hex[:8]}", "type": type_, "ean": EAN,
            "energy": energy, "netbeheerder": "fluvius", "params": params or {}, "callback_url": callback_url}


# ------------------------------------------------------------------------------------------------ requests


async def test_healthz(make_sim: SimFactory) -> None:
    sim = await make_sim()
    r = await sim.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("request_takeover", {}, "takeover_confirmed", {}),
    ("activate_prepayment", {}, "prepayment_activated", {}),
    ("grant_emergency_credit", {"amount": "155.00"}, "emergency_credit_granted", {"amount": "155.00"}),
    ("switch_minimal_supply", {"on": False}, "minimal_supply_switched", {"on": False}),
    ("schedule_disconnection", {"on_date": "2027-03-01"}, "disconnection_done", {"on_date": "2027-03-01"}),
    ("load_topup", {"amount": "60.00", "note": "winter"}, "topup_loaded", {"amount": "60.00"}),
]


async def test_performs_each_request_and_calls_back_signed(make_sim: SimFactory, receiver: Receiver,
                                                           path: str) -> None:
    sim = await make_sim(netbeheerder="fluvius")
    keys = {}
    for type_, params, _, _ in CASES:
        body = request_body(receiver.url(path), key=f"case-7:{type_}:1", type_=type_, params=params)
        r = await sim.post("/v1/requests", json=body)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "accepted" and r.json()["request_id"].startswith("REQ-")
        keys[type_] = body["idempotency_key"]
    await wait_until(lambda: len(receiver.at(path)) == len(CASES))
    got = {h.callback().request_key: h for h in receiver.at(path)}
    for type_, _, callback_type, data in CASES:
        hit = got[keys[type_]]
        assert hit.verified(), "the callback must carry a valid signature"
        assert not hit.verified(["some-other-secret"])
        assert hit.headers["content-type"] == "application/json"
        cb = hit.callback()
        assert cb.type == callback_type and cb.data == data
        assert cb.event_id == f"{keys[type_]}:done"
        assert (cb.ean, cb.energy, cb.netbeheerder) == (EAN, "gas", "fluvius")
    deadline = time.monotonic() + 5
    while True:  # a delivery is recorded once the receiver has answered: just after the receiver saw it
        listed = (await sim.get("/v1/requests")).json()
        if all(r["callbacks"] for r in listed["requests"]):
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert listed["count"] == len(CASES)
    assert [r["type"] for r in listed["requests"]] == [c[0] for c in CASES]
    for record in listed["requests"]:
        assert record["status"] == "performed" and record["performed_at"]
        [delivery] = record["callbacks"]
        assert delivery["status"] == 202 and delivery["delivered"] and delivery["attempts"] == [202]
    assert (await sim.get("/v1/requests", params={"status": "accepted"})).json()["count"] == 0
    sent = (await sim.get("/v1/callbacks")).json()
    assert sent["count"] == len(CASES) and all(c["delivered"] for c in sent["callbacks"])


async def test_a_repeated_request_is_answered_200_and_performed_once(make_sim: SimFactory, receiver: Receiver,
                                                                     path: str) -> None:
    sim = await make_sim(delay_ms=50)
    body = request_body(receiver.url(path), type_="grant_emergency_credit", params={"amount": "75.00"})
    first = await sim.post("/v1/requests", json=body)
    again = await sim.post("/v1/requests", json=body)
    assert first.status_code == 202
    assert again.status_code == 200, again.text
    replay = again.json()
    assert replay["replayed"] is True and replay["request_id"] == first.json()["request_id"]
    assert replay["status"] == "accepted" and replay["request"] == body
    await wait_until(lambda: len(receiver.at(path)) == 1)
    await only_record(sim, lambda r: bool(r["callbacks"]))
    later = await sim.post("/v1/requests", json=body)
    assert later.status_code == 200 and later.json()["status"] == "performed"
    assert later.json()["callbacks"][0]["delivered"] is True
    await asyncio.sleep(0.15)
    assert len(receiver.at(path)) == 1, "a repeat must not act (or call back) again"
    assert (await sim.get("/v1/requests")).json()["count"] == 1


async def test_reusing_a_key_for_another_request_is_409(make_sim: SimFactory, receiver: Receiver,
                                                        path: str) -> None:
    sim = await make_sim()
    body = request_body(receiver.url(path), type_="load_topup", params={"amount": "60.00"})
    assert (await sim.post("/v1/requests", json=body)).status_code == 202
    r = await sim.post("/v1/requests", json={**body, "params": {"amount": "61.00"}})
    assert r.status_code == 409 and "params" in r.json()["detail"]


@pytest.mark.parametrize(("type_", "params"), [
    ("grant_emergency_credit", {}), ("grant_emergency_credit", {"amount": 155}),
    ("load_topup", {"amount": "-1"}), ("load_topup", {"amount": "NaN"}), ("load_topup", {"amount": None}),
    ("switch_minimal_supply", {"on": "yes"}), ("schedule_disconnection", {"on_date": "1 March"}),
])
async def test_params_that_do_not_fit_the_type_are_422(make_sim: SimFactory, receiver: Receiver, path: str,
                                                       type_: str, params: dict[str, Any]) -> None:
    sim = await make_sim()
    r = await sim.post("/v1/requests", json=request_body(receiver.url(path), type_=type_, params=params))
    assert r.status_code == 422, r.text
    assert (await sim.get("/v1/requests")).json()["count"] == 0


async def test_invalid_body_is_422(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    sim = await make_sim()
    body = request_body(receiver.url(path))
    for bad in ({"ean": "123"}, {"unknown": 1}, {"type": "cut_off"}):
        assert (await sim.post("/v1/requests", json={**body, **bad})).status_code == 422


async def test_duplicate_rate_one_delivers_the_same_event_twice(make_sim: SimFactory, receiver: Receiver,
                                                                path: str) -> None:
    sim = await make_sim(duplicate_rate=1.0)
    body = request_body(receiver.url(path), type_="activate_prepayment", energy="electricity")
    assert (await sim.post("/v1/requests", json=body)).status_code == 202
    await wait_until(lambda: len(receiver.at(path)) == 2)
    first, second = receiver.at(path)
    assert first.callback() == second.callback()
    assert first.callback().event_id == f"{body['idempotency_key']}:done"
    assert first.verified() and second.verified()
    record = await only_record(sim, lambda r: len(r["callbacks"]) == 2)
    assert [d["copy_no"] for d in record["callbacks"]] == [1, 2]
    sent = (await sim.get("/v1/callbacks")).json()["callbacks"]
    assert [c["callback"]["event_id"] for c in sent] == [first.callback().event_id] * 2


async def test_error_rate_one_answers_503_and_does_nothing(make_sim: SimFactory, receiver: Receiver,
                                                           path: str) -> None:
    sim = await make_sim(error_rate=1.0)
    body = request_body(receiver.url(path))
    r = await sim.post("/v1/requests", json=body)
    assert r.status_code == 503
    await asyncio.sleep(0.1)
    assert receiver.at(path) == []
    assert (await sim.get("/v1/requests")).json()["count"] == 0
    assert (await sim.put("/faults", json={"error_rate": 0})).status_code == 200
    assert (await sim.post("/v1/requests", json=body)).status_code == 202  # the retry is the first real request
    await wait_until(lambda: len(receiver.at(path)) == 1)


async def test_reorder_rate_lets_callbacks_overtake(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    # Each request waits 100 ms plus up to 300 ms more; ten of them arriving in request order has odds 1 in 10!.
    sim = await make_sim(delay_ms=100, reorder_rate=1.0, seed=None)
    keys = [f"case-9:topup-{i}:{i}" for i in range(10)]
    for key in keys:
        body = request_body(receiver.url(path), key=key, type_="load_topup", params={"amount": "10.00"})
        assert (await sim.post("/v1/requests", json=body)).status_code == 202
    await wait_until(lambda: len(receiver.at(path)) == len(keys))
    arrived = [str(h.callback().request_key) for h in receiver.at(path)]
    assert sorted(arrived) == sorted(keys) and arrived != keys


async def test_delivery_is_retried_after_a_500(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    receiver.scripted[path] = [500, 503]
    sim = await make_sim()
    body = request_body(receiver.url(path), type_="switch_minimal_supply", params={"on": True})
    assert (await sim.post("/v1/requests", json=body)).status_code == 202
    await wait_until(lambda: len(receiver.at(path)) == 3)
    hits = receiver.at(path)
    assert len({h.body for h in hits}) == 1 and all(h.verified() for h in hits)
    [delivery] = (await only_record(sim, lambda r: bool(r["callbacks"])))["callbacks"]
    assert delivery["attempts"] == [500, 503, 202] and delivery["delivered"] and delivery["status"] == 202
    assert hits[1].at - hits[0].at >= 0.09  # backed off


async def test_a_refusal_is_not_retried(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    receiver.scripted[path] = [401]
    sim = await make_sim()
    r = await sim.post("/v1/emit", json={"type": "customer_left", "ean": EAN, "energy": "gas",
                                         "callback_url": receiver.url(path)})
    assert r.status_code == 200
    assert len(receiver.at(path)) == 1
    [sent] = (await sim.get("/v1/callbacks")).json()["callbacks"]
    assert sent["attempts"] == [401] and sent["delivered"] is False


async def test_an_unreachable_receiver_is_tried_five_times(make_sim: SimFactory,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_module, "BACKOFF_SECONDS", 0.005)
    sim = await make_sim()
    r = await sim.post("/v1/emit", json={"type": "debt_updated", "ean": EAN, "energy": "electricity",
                                         "data": {"total_debt": "10.00"},
                                         "callback_url": f"http://127.0.0.1:{free_port()}/cb"})
    assert r.status_code == 200
    [sent] = (await sim.get("/v1/callbacks")).json()["callbacks"]
    assert sent["attempts"] == ["ConnectError"] * sim_module.MAX_ATTEMPTS and sent["delivered"] is False


# ---------------------------------------------------------------------------------------------------- emit


async def test_emit_sends_a_signed_callback_now(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    sim = await make_sim(netbeheerder="fluvius", delay_ms=5_000)  # emit ignores the request delay
    data = {"invoice_id": "INV-1", "amount": "312.40", "due_on": "2027-01-20"}
    r = await sim.post("/v1/emit", json={"type": "invoice_issued", "ean": EAN, "energy": "gas", "data": data,
                                         "callback_url": receiver.url(path), "event_id": "fluvius:INV-1:issued"})
    assert r.status_code == 200, r.text
    sent = Callback.model_validate(r.json())
    assert sent.event_id == "fluvius:INV-1:issued" and sent.type == "invoice_issued" and sent.data == data
    assert sent.netbeheerder == "fluvius" and sent.request_key is None
    [hit] = receiver.at(path)  # delivered before the answer
    assert hit.verified() and hit.callback() == sent

    occurred = datetime(2027, 2, 1, 9, 30, tzinfo=UTC)
    r = await sim.post("/v1/emit", json={"type": "invoice_unpaid", "ean": EAN, "energy": "gas",
                                         "data": {"invoice_id": "INV-1", "due_on": "2027-01-20",
                                                  "municipality_nis": "44021"},
                                         "callback_url": receiver.url(path), "occurred_at": occurred.isoformat()})
    second = Callback.model_validate(r.json())
    assert second.occurred_at == occurred and second.event_id.startswith("emit-")
    assert second.event_id != sent.event_id
    assert [h.callback().event_id for h in receiver.at(path)] == [sent.event_id, second.event_id]
    listed = (await sim.get("/v1/callbacks")).json()
    assert [c["callback"]["event_id"] for c in listed["callbacks"]] == [sent.event_id, second.event_id]


async def test_emit_refuses_invalid_callbacks(make_sim: SimFactory, receiver: Receiver, path: str) -> None:
    sim = await make_sim()
    good = {"type": "debt_updated", "ean": EAN, "energy": "gas", "callback_url": receiver.url(path)}
    for bad in ({"type": "nope"}, {"ean": "12"}, {"energy": "water"}, {"occurred_at": "2027-01-01T00:00:00"},
                {"netbeheerder": "ores"}):
        assert (await sim.post("/v1/emit", json={**good, **bad})).status_code == 422
    assert receiver.at(path) == []


# -------------------------------------------------------------------------------------------------- faults


async def test_faults_partial_update_and_validation(make_sim: SimFactory) -> None:
    sim = await make_sim(delay_ms=20)
    assert (await sim.get("/faults")).json() == {"delay_ms": 20, "duplicate_rate": 0.0, "reorder_rate": 0.0,
                                                 "error_rate": 0.0, "drop_rate": 0.0}
    r = await sim.put("/faults", json={"duplicate_rate": 0.25})
    assert r.status_code == 200
    assert r.json() == {"delay_ms": 20, "duplicate_rate": 0.25, "reorder_rate": 0.0, "error_rate": 0.0,
                        "drop_rate": 0.0}
    for bad in ({"error_rate": 1.5}, {"drop_rate": 1.1}, {"reorder_rate": -0.1}, {"delay_ms": -1},
                {"delay_ms": 600_000}, {"latency_ms": 5}):
        assert (await sim.put("/faults", json=bad)).status_code == 422, bad
    assert (await sim.get("/faults")).json()["duplicate_rate"] == 0.25


def test_create_app_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="secret"):
        create_app(secret="")
    with pytest.raises(ValidationError):
        create_app(secret=SECRET, error_rate=2.0)


def test_config_from_env() -> None:
    assert config_from_env({}) == SimulatorConfig()
    assert SimulatorConfig().port == 8102 and SimulatorConfig().host == "127.0.0.1"
    cfg = config_from_env({"NBSIM_HOST": "192.0.2.1", "NBSIM_PORT": "9000", "NBSIM_SECRET": "s3",
                           "NBSIM_DELAY_MS": "0", "NBSIM_DUPLICATE_RATE": "0.1", "NBSIM_REORDER_RATE": "0.2",
                           "NBSIM_ERROR_RATE": "0.3", "NBSIM_SEED": "42", "NBSIM_NETBEHEERDER": "ores",
                           "NBSIM_DB": "/tmp/nb.db"})
    assert cfg == SimulatorConfig(host="192.0.2.1", port=9000, secret="s3", netbeheerder="ores",
                                  db_path="/tmp/nb.db", delay_ms=0, duplicate_rate=0.1, reorder_rate=0.2,
                                  error_rate=0.3, seed=42)
    with pytest.raises(ValueError, match="NBSIM_PORT"):
        config_from_env({"NBSIM_PORT": "eighty"})
    with pytest.raises(ValueError, match="NBSIM_ERROR_RATE"):
        config_from_env({"NBSIM_ERROR_RATE": "often"})


# ----------------------------------------------------------------------------------------- over real HTTP


async def test_served_over_http_and_shutdown_cancels_pending_work(receiver: Receiver, path: str) -> None:
    app = create_app(secret=SECRET, delay_ms=10)
    live = serve_in_thread(app)
    try:
        async with httpx.AsyncClient(base_url=live.url) as http:
            body = request_body(receiver.url(path), type_="schedule_disconnection",
                                params={"on_date": "2027-03-01"})
            assert (await http.post("/v1/requests", json=body)).status_code == 202
            await wait_until(lambda: len(receiver.at(path)) == 1)
            assert receiver.at(path)[0].verified()
            assert (await http.put("/faults", json={"delay_ms": 30_000})).status_code == 200
            assert (await http.post("/v1/requests", json=request_body(receiver.url(path)))).status_code == 202
        await wait_until(lambda: len(app.state.simulator.tasks) == 1)  # only the 30-second one is left
        started = time.monotonic()
    finally:
        await asyncio.to_thread(live.stop)
    assert time.monotonic() - started < 5
    assert not live.thread.is_alive()
    assert not app.state.simulator.tasks, "pending work is cancelled at shutdown"


async def test_a_restart_with_a_database_remembers_and_resumes_requests(receiver: Receiver, path: str,
                                                                        tmp_path: Path) -> None:
    db = str(tmp_path / "nbsim.db")
    body = request_body(receiver.url(path), type_="request_takeover")
    first = serve_in_thread(create_app(secret=SECRET, delay_ms=30_000, db_path=db))
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            assert (await http.post("/v1/requests", json=body)).status_code == 202
    finally:
        await asyncio.to_thread(first.stop)
    assert receiver.at(path) == []

    second = serve_in_thread(create_app(secret=SECRET, delay_ms=10, db_path=db))
    try:
        await wait_until(lambda: len(receiver.at(path)) == 1)  # the accepted request is performed after restart
        async with httpx.AsyncClient(base_url=second.url) as http:
            again = await http.post("/v1/requests", json=body)
            assert again.status_code == 200 and again.json()["replayed"] is True
        await asyncio.sleep(0.1)
        assert len(receiver.at(path)) == 1
    finally:
        await asyncio.to_thread(second.stop)
