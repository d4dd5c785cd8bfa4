"""Requests the simulated netbeheerder received, one per idempotency key (SQLite; in memory unless a file is given).

Idempotency is the property the engine relies on: a request retried with the same key is acted on once. As in the
payment simulator, that guarantee lives in a UNIQUE constraint plus a lock rather than in the HTTP layer. With a file,
the simulator also remembers its requests across a restart, and can resume the ones it accepted but had not yet
performed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from schemas.netbeheerder import NetbeheerderRequest

RequestStatus = Literal["accepted", "performed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id      TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    accepted_at     TEXT NOT NULL,
    performed_at    TEXT,
    deliveries      TEXT NOT NULL DEFAULT '[]',
    outcome         TEXT
)
"""
_COLUMNS = "request_id, idempotency_key, body, status, accepted_at, performed_at, deliveries, outcome"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """One received request and what became of it; ``deliveries`` are the callbacks sent for it."""

    request_id: str
    idempotency_key: str
    request: NetbeheerderRequest
    status: RequestStatus
    accepted_at: str
    performed_at: str | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None  # the callback that reports the request performed (JSON), delivered or not

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredRequest:
        return cls(request_id=row["request_id"], idempotency_key=row["idempotency_key"],
                   request=NetbeheerderRequest.model_validate_json(row["body"]), status=row["status"],
                   accepted_at=row["accepted_at"], performed_at=row["performed_at"],
                   deliveries=json.loads(row["deliveries"]), outcome=row["outcome"])


class IdempotencyConflictError(Exception):
    """An idempotency key was reused for a request that is not identical to the one stored under it."""

    def __init__(self, existing: StoredRequest, fields: list[str]) -> None:
        self.existing = existing
        self.fields = fields
        super().__init__(f"idempotency key {existing.idempotency_key!r} was already used for another request "
                         f"(different {', '.join(fields)}); a key may only be reused to retry the identical request")


class RequestStore:
    """Thread-safe request log on one SQLite connection (see ``simulators.payments.store.PaymentStore``)."""

    def __init__(self, db_path: str | None = None) -> None:
        self.db_path = db_path or ":memory:"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute(_SCHEMA)
            columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(requests)")}
            if "outcome" not in columns:  # a file written before outcomes were kept
                self._conn.execute("ALTER TABLE requests ADD COLUMN outcome TEXT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add(self, request: NetbeheerderRequest) -> tuple[StoredRequest, bool]:
        """Store a request once per idempotency key; ``(stored, created)``.

        ``created`` is False for a replay of the identical request (the original record comes back);
        ``IdempotencyConflictError`` when the key was used for a different request.
        """
        candidate = StoredRequest(request_id=f"REQ-{uuid.uuid4().hex}", idempotency_key=request.idempotency_key,
                                  request=request, status="accepted", accepted_at=now_iso())
        with self._lock:
            try:
                self._conn.execute(
                    f"INSERT INTO requests ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, '[]', NULL)",  # noqa: S608 - constant
                    (candidate.request_id, candidate.idempotency_key, request.model_dump_json(), candidate.status,
                     candidate.accepted_at))
                return candidate, True
            except sqlite3.IntegrityError:
                existing = self._get(request.idempotency_key)
                if existing is None:
                    raise
        old, new = existing.request.model_dump(), request.model_dump()
        fields = [name for name in new if old[name] != new[name]]
        if fields:
            raise IdempotencyConflictError(existing, fields)
        return existing, False

    def get(self, idempotency_key: str) -> StoredRequest | None:
        with self._lock:
            return self._get(idempotency_key)

    def _get(self, idempotency_key: str) -> StoredRequest | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM requests WHERE idempotency_key = ?",  # noqa: S608
                                 (idempotency_key,)).fetchone()
        return StoredRequest.from_row(row) if row is not None else None

    def list_requests(self, status: RequestStatus | None = None) -> list[StoredRequest]:
        """All requests in the order they arrived (optionally only those with ``status``)."""
        query = f"SELECT {_COLUMNS} FROM requests"  # noqa: S608 - constant
        params: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY rowid", params).fetchall()
        return [StoredRequest.from_row(row) for row in rows]

    def mark_performed(self, idempotency_key: str, outcome: str | None = None) -> None:
        """The request was done; ``outcome`` is the callback that reports it (JSON), kept so it can be asked for."""
        with self._lock:
            self._conn.execute("UPDATE requests SET status = 'performed', performed_at = ?, outcome = ? "
                               "WHERE idempotency_key = ? AND status = 'accepted'",
                               (now_iso(), outcome, idempotency_key))

    def add_delivery(self, idempotency_key: str, delivery: dict[str, Any]) -> None:
        """Append the outcome of one callback delivery to the request's record."""
        with self._lock:
            row = self._conn.execute("SELECT deliveries FROM requests WHERE idempotency_key = ?",
                                     (idempotency_key,)).fetchone()
            if row is None:
                return
            deliveries = [*json.loads(row["deliveries"]), delivery]
            self._conn.execute("UPDATE requests SET deliveries = ? WHERE idempotency_key = ?",
                               (json.dumps(deliveries), idempotency_key))

    def reset(self) -> int:
        """Forget every request (a test helper); returns how many were deleted."""
        with self._lock:
            return self._conn.execute("DELETE FROM requests").rowcount
