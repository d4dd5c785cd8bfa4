"""Read models built from the event log: case lists, claim inbox, payout totals and the case documents.

Every projection is a pure function of the typed events in log order (no clock, no lookups elsewhere), so
``vangnet projections rebuild`` reproduces the live tables exactly. The projector runs inside the append's
transaction (``eventstore.append``): a step's effect is readable as soon as the step has answered.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from schemas.energy_events import (
    ContractEnded,
    DebtUpdated,
    DefaultNoticeSent,
    MinimalSupplyActivated,
    MinimalSupplyRestored,
    MinimalSupplySwitchedOff,
    PrepaymentActivated,
    SocialSupplierTookOver,
)
from schemas.event_catalog import decode
from schemas.events import CaseClosed, CaseOpeningAbandoned, EventData, StoredEvent
from schemas.fbu_events import (
    AgreementAmended,
    AgreementDrafted,
    AgreementInForce,
    CaseOpened,
    ClaimApproved,
    ClaimRejected,
    ClaimSubmitted,
    PayoutPaid,
    PlanBreached,
    RepaymentRecorded,
    StableHousingDeclared,
)
from schemas.retention import PersonalDataErased
from vangnet.storage import energy_document, fbu_document

PROJECTOR = "fbu-read-models"
APPEND_LOCK = 7_240_002  # serialises appends and projection, so positions become visible in order
TABLES = ("proj_fbu_cases", "proj_claims", "proj_payout_totals", "proj_energy_cases", "proj_case_documents")

H = TypeVar("H", bound=Callable[..., Awaitable[None]])
_handlers: dict[str, Callable[[asyncpg.Connection, StoredEvent, Any], Awaitable[None]]] = {}


def on(*models: type[EventData]) -> Callable[[H], H]:
    """Register a table handler for these event types; it gets the envelope and the typed body."""
    def register(fn: H) -> H:
        for model in models:
            _handlers[model.TYPE] = fn
        return fn

    return register


async def _case_status(conn: asyncpg.Connection, e: StoredEvent, status: str) -> None:
    await conn.execute(
        "UPDATE proj_fbu_cases SET status = $2, updated_at = $3 WHERE case_id = $1", e.case_id, status, e.occurred_at
    )


@on(CaseOpened)
async def _opened(conn: asyncpg.Connection, e: StoredEvent, b: CaseOpened) -> None:
    await conn.execute(
        """INSERT INTO proj_fbu_cases (case_id, ocmw_id, status, market, municipality_nis, arrears_amount,
                                       opened_on, rule_set_id, updated_at)
           VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8)""",
        e.case_id, e.ocmw_id, b.rental_market, b.municipality_nis, b.arrears_amount, b.opened_on, b.rule_set_id,
        e.occurred_at,
    )


@on(AgreementDrafted, AgreementAmended)
async def _agreement(conn: asyncpg.Connection, e: StoredEvent, b: AgreementDrafted) -> None:
    await conn.execute(
        """UPDATE proj_fbu_cases SET status = 'awaiting_signatures', agreement_version = $2, plan_total = $3,
                  updated_at = $4 WHERE case_id = $1""",
        e.case_id, b.version, b.plan_total, e.occurred_at,
    )


@on(AgreementInForce)
async def _in_force(conn: asyncpg.Connection, e: StoredEvent, b: AgreementInForce) -> None:
    await conn.execute(
        """UPDATE proj_fbu_cases SET status = 'in_force', in_force_on = COALESCE(in_force_on, $2),
                  updated_at = $3 WHERE case_id = $1""",
        e.case_id, b.in_force_on, e.occurred_at,
    )


@on(RepaymentRecorded)
async def _repayment(conn: asyncpg.Connection, e: StoredEvent, b: RepaymentRecorded) -> None:
    await conn.execute(
        "UPDATE proj_fbu_cases SET repaid_total = $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, b.repaid_total, e.occurred_at,
    )


@on(PlanBreached)
async def _breached(conn: asyncpg.Connection, e: StoredEvent, b: PlanBreached) -> None:
    await _case_status(conn, e, "plan_breached")


@on(StableHousingDeclared)
async def _stable(conn: asyncpg.Connection, e: StoredEvent, b: StableHousingDeclared) -> None:
    await _case_status(conn, e, "stable_housing")


@on(CaseClosed)
async def _closed(conn: asyncpg.Connection, e: StoredEvent, b: CaseClosed) -> None:
    table = "proj_energy_cases SET phase" if e.case_kind == "energy" else "proj_fbu_cases SET status"
    await conn.execute(
        f"UPDATE {table} = 'closed', closing_reason = $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, b.reason, e.occurred_at,
    )


@on(CaseOpeningAbandoned)
async def _abandoned(conn: asyncpg.Connection, e: StoredEvent, b: CaseOpeningAbandoned) -> None:
    """A workflow that ran without its case: whatever it projected leaves the read models (the log keeps it)."""
    for table in ("proj_fbu_cases", "proj_energy_cases", "proj_case_documents"):
        await conn.execute(f"DELETE FROM {table} WHERE case_id = $1", e.case_id)  # noqa: S608 - constant names


@on(ClaimSubmitted)
async def _claim_submitted(conn: asyncpg.Connection, e: StoredEvent, b: ClaimSubmitted) -> None:
    await conn.execute(
        """INSERT INTO proj_claims (claim_id, case_id, ocmw_id, claim_kind, status, payouts, amount, rule_set_id,
                                    arrears_amount, agreement_version, agreement_in_force_on, submitted_on,
                                    attempt, updated_at)
           VALUES ($1, $2, $3, $4, 'claimed', $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (claim_id) DO UPDATE SET status = 'claimed', attempt = EXCLUDED.attempt,
                submitted_on = EXCLUDED.submitted_on, decided_on = NULL, decision_reason = NULL,
                updated_at = EXCLUDED.updated_at""",
        b.claim_id, e.case_id, e.ocmw_id, b.claim_kind, json.dumps([p.model_dump(mode="json") for p in b.payouts]),
        b.amount, b.rule_set_id, b.arrears_amount, b.agreement_version, b.agreement_in_force_on, b.submitted_on,
        b.attempt, e.occurred_at,
    )
    if b.claim_kind == "initial":
        await conn.execute(
            "UPDATE proj_fbu_cases SET rule_set_id = $2, updated_at = $3 WHERE case_id = $1",
            e.case_id, b.rule_set_id, e.occurred_at,
        )


@on(ClaimApproved, ClaimRejected)
async def _claim_decided(conn: asyncpg.Connection, e: StoredEvent, b: ClaimApproved) -> None:
    await conn.execute(
        """UPDATE proj_claims SET status = $2, decided_on = $3, decision_reason = $4, updated_at = $5
           WHERE claim_id = $1""",
        b.claim_id, "approved" if isinstance(b, ClaimApproved) else "rejected", b.decided_on, b.reason,
        e.occurred_at,
    )


@on(PayoutPaid)
async def _paid(conn: asyncpg.Connection, e: StoredEvent, b: PayoutPaid) -> None:
    await conn.execute(
        "UPDATE proj_claims SET status = 'paid', payment_id = $2, updated_at = $3 WHERE claim_id = $1",
        b.claim_id, b.payment_id, e.occurred_at,
    )
    for payout in b.payouts:
        await conn.execute(
            """INSERT INTO proj_payout_totals (ocmw_id, rule_set_id, kind, count, amount) VALUES ($1, $2, $3, 1, $4)
               ON CONFLICT (ocmw_id, rule_set_id, kind)
               DO UPDATE SET count = proj_payout_totals.count + 1, amount = proj_payout_totals.amount + $4""",
            e.ocmw_id, b.rule_set_id, payout.kind, payout.amount,
        )
    await conn.execute(
        "UPDATE proj_fbu_cases SET paid_total = paid_total + $2, updated_at = $3 WHERE case_id = $1",
        e.case_id, b.amount, e.occurred_at,
    )


# ---- energy ----------------------------------------------------------------------------------------------


@on(DefaultNoticeSent)
async def _notice(conn: asyncpg.Connection, e: StoredEvent, b: DefaultNoticeSent) -> None:
    await conn.execute(
        """INSERT INTO proj_energy_cases (case_id, ocmw_id, netbeheerder, energy, phase, rule_set_id,
                                          notice_of_default_on, updated_at)
           VALUES ($1, $2, $3, $4, 'notice_period', $5, $6, $7)""",
        e.case_id, e.ocmw_id, b.netbeheerder, b.energy, b.rule_set_id, b.notice_of_default_on, e.occurred_at,
    )


async def _energy(conn: asyncpg.Connection, e: StoredEvent, assignments: str, *values: object) -> None:
    await conn.execute(
        f"UPDATE proj_energy_cases SET {assignments}, updated_at = $2 WHERE case_id = $1",  # noqa: S608 - fixed
        e.case_id, e.occurred_at, *values,
    )


@on(ContractEnded)
async def _contract_ended(conn: asyncpg.Connection, e: StoredEvent, b: ContractEnded) -> None:
    await _energy(conn, e, "phase = 'awaiting_takeover'")


@on(SocialSupplierTookOver)
async def _took_over(conn: asyncpg.Connection, e: StoredEvent, b: SocialSupplierTookOver) -> None:
    await _energy(conn, e, "phase = 'social_supplier'")


@on(PrepaymentActivated)
async def _prepayment(conn: asyncpg.Connection, e: StoredEvent, b: PrepaymentActivated) -> None:
    await _energy(conn, e, "phase = 'prepayment', prepayment_active = true, "
                           "minimal_supply = CASE WHEN energy = 'electricity' THEN 'normal' END")


@on(MinimalSupplyActivated)
async def _minimal(conn: asyncpg.Connection, e: StoredEvent, b: MinimalSupplyActivated) -> None:
    await _energy(conn, e, "minimal_supply = 'minimal'")


@on(MinimalSupplySwitchedOff)
async def _minimal_off(conn: asyncpg.Connection, e: StoredEvent, b: MinimalSupplySwitchedOff) -> None:
    await _energy(conn, e, "minimal_supply = 'off'")


@on(MinimalSupplyRestored)
async def _minimal_restored(conn: asyncpg.Connection, e: StoredEvent, b: MinimalSupplyRestored) -> None:
    await _energy(conn, e, "minimal_supply = 'normal'")


@on(DebtUpdated)
async def _debt(conn: asyncpg.Connection, e: StoredEvent, b: DebtUpdated) -> None:
    await _energy(conn, e, "total_debt = $3", b.total_debt)


Document = fbu_document.FbuCaseDocument | energy_document.EnergyCaseDocument


class _Documents:
    """The case documents touched by a batch of events: read once (or handed over as ``stored``, read with the
    events), folded in memory, written once."""

    def __init__(self, conn: asyncpg.Connection, stored: Mapping[str, str | None]) -> None:
        self._conn = conn
        self._stored = stored
        self._docs: dict[str, Document | None] = {}
        self._dirty: dict[str, StoredEvent] = {}

    async def _load(self, event: StoredEvent) -> Document | None:
        if event.case_id not in self._docs:
            if event.case_id in self._stored:
                raw = self._stored[event.case_id]
            else:
                raw = await self._conn.fetchval("SELECT document FROM proj_case_documents WHERE case_id = $1",
                                                event.case_id)
            model = fbu_document.FbuCaseDocument if event.case_kind == "fbu" else energy_document.EnergyCaseDocument
            self._docs[event.case_id] = model.model_validate_json(raw) if raw is not None else None
        return self._docs[event.case_id]

    async def apply(self, event: StoredEvent, body: EventData) -> None:
        if isinstance(body, PersonalDataErased):
            return  # the document never holds personal data: nothing to change
        if isinstance(body, CaseOpeningAbandoned):  # its handler deleted the stored document: drop ours too
            self._docs[event.case_id] = None
            self._dirty.pop(event.case_id, None)
            return
        doc = await self._load(event)
        if event.case_kind == "fbu":
            folded: Document | None = fbu_document.fold(doc if isinstance(doc, fbu_document.FbuCaseDocument)
                                                        else None, event, body)
        else:
            folded = energy_document.fold(doc if isinstance(doc, energy_document.EnergyCaseDocument)
                                          else None, event, body)
        if folded is not None:
            self._docs[event.case_id] = folded
            self._dirty[event.case_id] = event

    async def flush(self) -> None:
        await self._conn.executemany(
            """INSERT INTO proj_case_documents (case_id, kind, ocmw_id, document, updated_at)
               VALUES ($1, $2, $3, $4::jsonb, $5)
               ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at""",
            [(case_id, e.case_kind, e.ocmw_id, _json(self._docs[case_id]), e.occurred_at)
             for case_id, e in self._dirty.items()])
        self._dirty.clear()


def _json(doc: Document | None) -> str:
    assert doc is not None
    return doc.model_dump_json()


_ENVELOPE = tuple(name for name in StoredEvent.model_fields if name != "data")


def stored_event(row: asyncpg.Record) -> StoredEvent:
    """A row of ``domain_events`` (other columns a query added are left out)."""
    return StoredEvent(**{name: row[name] for name in _ENVELOPE}, data=json.loads(row["data"]))


async def catch_up(conn: asyncpg.Connection, batch: int = 1000,
                   progress: Callable[[int], None] | None = None) -> int:
    """Apply every event after the checkpoint. The caller holds ``APPEND_LOCK`` in its transaction (every writer of
    the log and of the checkpoint does), so nothing moves the checkpoint meanwhile."""
    position = await checkpoint(conn)
    applied = 0
    while True:
        rows = await conn.fetch(
            "SELECT * FROM domain_events WHERE position > $1 ORDER BY position LIMIT $2", position, batch)
        if rows:
            position = await project(conn, rows)
            applied += len(rows)
            if progress is not None:
                progress(applied)
        if len(rows) < batch:  # the last page: no round trip to find it empty
            break
    if applied:
        await save_checkpoint(conn, position)
    return applied


async def checkpoint(conn: asyncpg.Connection) -> int:
    """The position of the last event the read models hold (0 before the first)."""
    position = await conn.fetchval("SELECT position FROM projection_checkpoints WHERE projector = $1", PROJECTOR)
    return int(position or 0)


async def project(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record],
                  documents_before: Mapping[str, str | None] | None = None) -> int:
    """Fold these events, in position order and right after the checkpoint, into the read models; the position of
    the last one (``save_checkpoint`` records it). ``documents_before``: the stored documents of the cases these
    rows touch, as they were before them (the append read them with its insert), so they are not read again."""
    documents = _Documents(conn, documents_before or {})
    position = 0
    for row in rows:
        event = stored_event(row)
        body = decode(event)
        handler = _handlers.get(event.type)
        if handler is not None:
            await handler(conn, event, body)
        await documents.apply(event, body)
        position = event.position
    await documents.flush()
    return position


async def save_checkpoint(conn: asyncpg.Connection, position: int) -> None:
    await conn.execute(
        """INSERT INTO projection_checkpoints (projector, position) VALUES ($1, $2)
           ON CONFLICT (projector) DO UPDATE SET position = EXCLUDED.position""", PROJECTOR, position)


async def rebuild(conn: asyncpg.Connection, progress: Callable[[int], None] | None = None) -> int:
    """Drop the read models and replay the whole log into them, in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        for table in TABLES:
            await conn.execute(f"TRUNCATE {table}")
        await conn.execute("DELETE FROM projection_checkpoints WHERE projector = $1", PROJECTOR)
        return await catch_up(conn, progress=progress)


async def snapshot(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, list[dict[str, object]]]:
    """Every read-model row, ordered, for comparing a rebuild with the live tables."""
    out: dict[str, list[dict[str, object]]] = {}
    for table in TABLES:
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")  # noqa: S608
        out[table] = [dict(r) for r in rows]
    return out
