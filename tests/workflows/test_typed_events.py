"""Typed domain events: every type has a model in the catalog, every model survives the log, old versions upcast."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg
import pytest
from pydantic import BaseModel

from schemas import event_catalog
from schemas.energy_events import PrepaymentActivationRequested
from schemas.event_catalog import MODELS, UnknownEventError, decode
from schemas.events import CaseClosed, DomainEvent, EventData, StreamWriter
from schemas.fbu_events import AgreementDrafted, CaseOpened
from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver, closed_event
from tests.fbu_helpers import Driver
from vangnet.storage import eventstore, fbu_document, projections
from vangnet.storage.projections import APPEND_LOCK, stored_event


def _subclasses(cls: type[EventData]) -> set[type[EventData]]:
    found: set[type[EventData]] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_event_model_is_in_the_catalog_under_its_own_type() -> None:
    concrete = {m for m in _subclasses(EventData) if "TYPE" in vars(m)}
    assert concrete == set(MODELS.values())
    assert all(MODELS[m.TYPE] is m for m in concrete)
    assert len(MODELS) >= 40


def sample(annotation: Any) -> Any:
    """A valid value for a field type: enough to build every model without hand-written fixtures."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is list:
        return [sample(typing.get_args(annotation)[0])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: sample(f.annotation) for name, f in annotation.model_fields.items()}
    return {str: "x-1", int: 3, bool: True, date: date(2026, 2, 28), Decimal: Decimal("1185.50"),
            datetime: datetime(2026, 2, 28, 9, 30, tzinfo=UTC)}[annotation]


def build(model: type[EventData]) -> EventData:
    return model.model_validate({name: sample(f.annotation) for name, f in model.model_fields.items()})


async def test_every_model_round_trips_through_the_log(pool: asyncpg.Pool) -> None:
    written = {}
    for n, model in enumerate(MODELS.values()):
        body = build(model)
        writer = StreamWriter(f"roundtrip-{n}", f"rt-case-{n}", "energy", "ocmw-44021")
        event = writer.event(body, datetime(2026, 3, 1, 9, tzinfo=UTC))
        async with pool.acquire() as conn:
            assert await eventstore.append(conn, [event]) == 1
        written[event.case_id] = body
    for case_id, body in written.items():
        (stored,) = await eventstore.case_events(pool, case_id)
        assert stored.schema_version == type(body).VERSION
        assert decode(stored) == body, stored.type


def _v1_prepayment_request(occurred_at: datetime) -> DomainEvent:
    return DomainEvent(event_id="old:1", stream="old", stream_version=1, case_id="old-case", case_kind="energy",
                       ocmw_id="ocmw-44021", type="PrepaymentActivationRequested", schema_version=1,
                       data={"reason": "takeover"}, occurred_at=occurred_at)


async def test_an_old_version_in_the_log_is_upcast_on_read(pool: asyncpg.Pool) -> None:
    # 23:30 UTC on 31 March is already 1 April in Brussels: the upcast day is the Brussels date.
    async with pool.acquire() as conn:
        await eventstore.append(conn, [_v1_prepayment_request(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))])
    (stored,) = await eventstore.case_events(pool, "old-case")
    assert stored.schema_version == 1 and "requested_on" not in stored.data  # the log keeps what was written
    body = event_catalog.body(stored, PrepaymentActivationRequested)
    assert body.requested_on == date(2026, 4, 1) and body.reason == "takeover"
    assert PrepaymentActivationRequested.VERSION == 2


def test_unknown_types_and_future_versions_are_refused_not_guessed() -> None:
    event = _v1_prepayment_request(datetime(2026, 3, 31, 8, tzinfo=UTC))
    with pytest.raises(UnknownEventError, match="newer than this code"):
        decode(event.model_copy(update={"schema_version": 3}))
    with pytest.raises(UnknownEventError, match="unknown event type"):
        decode(event.model_copy(update={"type": "SomethingElse"}))
    with pytest.raises(TypeError):
        event_catalog.body(event, CaseClosed)


async def test_every_event_the_workflows_emit_is_a_catalogued_current_version(stack: Stack) -> None:
    d, e = Driver(stack), EnergyDriver(stack)
    case_id, _ = await d.in_force_case()
    await d.step(case_id, "POST", "close", {"reason": "withdrawn"})
    energy_case, _ = await e.open("electricity")
    await e.step(energy_case, "close", {"reason": "moved"})
    rows = await stack.pool.fetch("SELECT * FROM domain_events ORDER BY position")
    assert {"CaseOpened", "AgreementInForce", "PayoutsClaimed", "ClaimSubmitted", "DefaultNoticeSent",
            "CaseClosed"} <= {r["type"] for r in rows}
    for row in rows:  # everything this session's workflows wrote, not only the steps above
        stored = stored_event(row)
        assert stored.type in MODELS
        assert stored.schema_version == MODELS[stored.type].VERSION, stored.event_id
        assert decode(stored).to_data() == stored.data, stored.event_id


async def test_an_append_keeps_order_is_idempotent_and_refuses_a_second_writer(pool: asyncpg.Pool) -> None:
    """Several events of one step land in version order (their positions too); the same events again add
    nothing; a step half stored before a crash stores its other half; another event on a taken version is refused."""
    stream = "append-" + datetime.now(UTC).strftime("%H%M%S%f")
    first = [closed_event(stream, v) for v in (1, 2, 3)]
    async with pool.acquire() as conn:
        assert await eventstore.append(conn, first) == 3
        assert await eventstore.append(conn, first) == 0  # a retried activity
        assert await eventstore.append(conn, [first[2], closed_event(stream, 4)]) == 1  # half of it was stored
        with pytest.raises(eventstore.StreamConflictError):
            await eventstore.append(conn, [closed_event(stream, 5), closed_event(stream, 2, event_id="another-writer")])
        other_content = closed_event(stream, 4).model_copy(
            update={"data": {"reason": "moved", "closed_on": "2026-03-02"}})
        with pytest.raises(eventstore.StreamConflictError):  # same id and type, other content: not a duplicate
            await eventstore.append(conn, [other_content])
    stored = await eventstore.case_events(pool, stream)
    assert [e.stream_version for e in stored] == [1, 2, 3, 4]  # the refused append left nothing, not even v5
    assert [e.position for e in stored] == sorted(e.position for e in stored)


async def test_an_append_first_projects_events_the_read_models_lack(pool: asyncpg.Pool) -> None:
    """The projector folds an append's own rows without reading them back, unless the log holds events before them
    that the read models lack (written around the projector, as a repair might): those are folded first, in order."""
    stream = "backlog-" + datetime.now(UTC).strftime("%H%M%S%f")
    writer = StreamWriter(stream, stream, "fbu", "ocmw-44021")
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    opened, drafted = writer.event(build(CaseOpened), at), writer.event(build(AgreementDrafted), at)
    async with pool.acquire() as conn:
        async with conn.transaction():  # the opening in the log only, as if its projection had been lost
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            await conn.execute(
                """INSERT INTO domain_events (event_id, stream, stream_version, case_id, case_kind, ocmw_id, type,
                                              schema_version, data, occurred_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)""",
                opened.event_id, opened.stream, opened.stream_version, opened.case_id, opened.case_kind,
                opened.ocmw_id, opened.type, opened.schema_version, json.dumps(opened.data), opened.occurred_at)
        assert await conn.fetchval("SELECT count(*) FROM proj_fbu_cases WHERE case_id = $1", stream) == 0
        assert await eventstore.append(conn, [drafted]) == 1
        row = await conn.fetchrow("SELECT status, agreement_version FROM proj_fbu_cases WHERE case_id = $1", stream)
        assert row is not None and row["status"] == "awaiting_signatures"
        assert row["agreement_version"] == drafted.data["version"]
        last = await conn.fetchval("SELECT max(position) FROM domain_events")
        assert await projections.checkpoint(conn) == last
        assert await eventstore.append(conn, [drafted]) == 0  # the same step again: nothing new, nothing lost
        assert await projections.checkpoint(conn) == last


async def test_one_append_folds_every_case_document_it_touches_onto_the_stored_one(pool: asyncpg.Pool) -> None:
    """The append reads the documents of the cases it touches in its insert statement (on each case's first row):
    a case with a document gets its events folded onto that one, a case opened in the same append starts its own,
    and the checkpoint moves past all of them; a rebuild from the log gives the same documents."""
    suffix = datetime.now(UTC).strftime("%H%M%S%f")
    known, new = f"docs-known-{suffix}", f"docs-new-{suffix}"
    a, b = (StreamWriter(case, case, "fbu", "ocmw-44021") for case in (known, new))
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    async with pool.acquire() as conn:
        opened = a.event(build(CaseOpened), at)
        assert await eventstore.append(conn, [opened]) == 1
        both = [a.event(build(AgreementDrafted), at), b.event(build(CaseOpened), at),
                b.event(build(AgreementDrafted), at), b.event(build(CaseClosed), at)]
        assert await eventstore.append(conn, both) == 4
        rows = await conn.fetch("SELECT case_id, document FROM proj_case_documents WHERE case_id = ANY($1::text[])",
                                [known, new])
        docs = {r["case_id"]: json.loads(r["document"]) for r in rows}
        assert docs[known]["status"] == "awaiting_signatures"
        assert docs[known]["agreement"]["version"] == both[0].data["version"]
        assert docs[known]["opened_on"] == opened.data["opened_on"]  # kept from the stored document
        assert docs[new]["status"] == "closed"
        assert await projections.checkpoint(conn) == await conn.fetchval("SELECT max(position) FROM domain_events")
        folded = {case: _folded_document(await eventstore.case_events(conn, case)) for case in (known, new)}
    assert folded == docs


def _folded_document(events: list[Any]) -> dict[str, Any]:
    """A case document folded from its events alone, as a rebuild would."""
    doc = None
    for event in events:
        doc = fbu_document.fold(doc, event, decode(event))
    assert doc is not None
    return json.loads(doc.model_dump_json())
