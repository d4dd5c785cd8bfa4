"""Erasing personal data: which subjects' retention is over, and the erasure itself with its record in the log.

An erasure deletes the subject's key (``vault.erase``) and appends a ``PersonalDataErased`` event in the same
transaction, so the legal record always says when, why and under which retention rule set a person's data
became unreadable. The event's stream is ``erasure:{subject_id}`` with version 1, so an erasure is recorded
once however often it is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from schemas.calendar import add_months
from schemas.events import StreamWriter
from schemas.retention import ExpiredSubject, PersonalDataErased, SubjectRef
from schemas.retention_rules import RetentionBook
from vangnet.security import vault
from vangnet.storage import eventstore


async def subjects(conn: asyncpg.Connection | asyncpg.Pool, *, case_id: str | None = None,
                   subject_ids: Sequence[str] | None = None, include_erased: bool = False) -> list[SubjectRef]:
    """The data subjects of a case, or these subjects, with the case and party each belongs to."""
    rows = await conn.fetch(
        """SELECT subject_id, party, case_id, case_kind, ocmw_id FROM data_subjects
           WHERE ($1::text IS NULL OR case_id = $1) AND ($2::text[] IS NULL OR subject_id = ANY($2::text[]))
             AND ($3 OR erased_at IS NULL)
           ORDER BY case_id, party""",
        case_id, list(subject_ids) if subject_ids is not None else None, include_erased)
    return [SubjectRef(**dict(r)) for r in rows]


async def expired(conn: asyncpg.Connection | asyncpg.Pool, book: RetentionBook, as_of: date, *, limit: int,
                  subject_ids: Sequence[str] | None = None) -> list[ExpiredSubject]:
    """Subjects not erased yet whose case was closed and whose retention period is over on ``as_of``.

    Open cases are never expired. The rule set is the one in force on the closing day; the SQL narrows the search
    with the shortest period in the book (plus a margin for month clamping), Python applies the exact one.
    """
    shortest = min(_earliest_closing(as_of, book, kind) for kind in ("fbu", "energy"))
    rows = await conn.fetch(
        """WITH closed AS (
               SELECT DISTINCT ON (case_id) case_id, (data->>'closed_on')::date AS closed_on
               FROM domain_events WHERE type = 'CaseClosed' ORDER BY case_id, position DESC)
           SELECT x.subject_id, x.party, x.case_id, x.case_kind, x.ocmw_id, c.closed_on
           FROM data_subjects x JOIN closed c ON c.case_id = x.case_id
           WHERE x.erased_at IS NULL AND c.closed_on <= $1 AND ($2::text[] IS NULL OR x.subject_id = ANY($2::text[]))
           ORDER BY c.closed_on, x.subject_id""",
        shortest, list(subject_ids) if subject_ids is not None else None)
    found: list[ExpiredSubject] = []
    for r in rows:
        rule_set = book.select(r["closed_on"])
        period = rule_set.periods[r["case_kind"]]
        due = period.due(r["closed_on"])
        if due <= as_of:
            found.append(ExpiredSubject(**dict(r), due_on=due, rule_set_id=rule_set.id, period=period.describe()))
            if len(found) >= limit:
                break
    return found


def _earliest_closing(as_of: date, book: RetentionBook, kind: Any) -> date:
    """A closing day late enough that nothing closed after it can be due on ``as_of`` under any rule set."""
    p = book.shortest(kind)
    return add_months(as_of, -(12 * p.years + p.months)) - timedelta(days=p.days) + timedelta(days=3)


async def erase(conn: asyncpg.Connection, subject: SubjectRef, *, reason: str, at: datetime,
                details: dict[str, Any] | None = None) -> bool:
    """Delete the subject's key and record it in the log, atomically; False when it was erased already."""
    async with conn.transaction():
        done = await vault.erase(conn, subject.subject_id)
        if done:
            body = PersonalDataErased(subject_id=subject.subject_id, party=subject.party, reason=reason,
                                      **(details or {}))
            writer = StreamWriter(f"erasure:{subject.subject_id}", subject.case_id, subject.case_kind,
                                  subject.ocmw_id)
            await eventstore.append(conn, [writer.event(body, at)])
    return done


async def erase_expired(conn: asyncpg.Connection, book: RetentionBook, as_of: date, subject_ids: Sequence[str],
                        at: datetime) -> int:
    """Erase those of ``subject_ids`` that are still expired on ``as_of`` (checked again here, not trusted)."""
    erased = 0
    for s in await expired(conn, book, as_of, limit=len(subject_ids) or 1, subject_ids=subject_ids):
        details = {"rule_set_id": s.rule_set_id, "period": s.period, "closed_on": s.closed_on.isoformat(),
                   "due_on": s.due_on.isoformat(), "as_of": as_of.isoformat()}
        erased += await erase(conn, s, reason="retention", at=at, details=details)
    return erased
