"""SQLite-backed ledger of the simulated Wonen-Vlaanderen payment system.

The point of the simulator is to behave like a payment system the engine cannot trust to answer reliably,
so the one property it must get exactly right is idempotency: a payment is booked at most once per
idempotency key, no matter how often (or how concurrently) the engine retries. That guarantee lives here, in a
UNIQUE constraint plus a lock, rather than in the HTTP layer, so it also holds for two app instances sharing
one SQLite file.

Amounts are ``Decimal`` everywhere and stored as canonical two-decimal strings: money never passes through a
float, and string storage keeps SQLite from silently turning ``"10.10"`` into a REAL.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

CENT = Decimal("0.01")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_id      TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE NOT NULL,
    amount          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    beneficiary     TEXT NOT NULL,
    reference       TEXT NOT NULL,
    created_at      TEXT NOT NULL
)
"""

_COLUMNS = "payment_id, idempotency_key, amount, currency, beneficiary, reference, created_at"


def format_amount(amount: Decimal) -> str:
    """Render an amount the way the payment system reports it: always exactly two decimals."""
    return str(amount.quantize(CENT))


@dataclass(frozen=True, slots=True)
class Payment:
    """One booked payment, as stored."""

    payment_id: str
    idempotency_key: str
    amount: Decimal
    currency: str
    beneficiary: str
    reference: str
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Payment:
        return cls(
            payment_id=row["payment_id"],
            idempotency_key=row["idempotency_key"],
            amount=Decimal(row["amount"]),
            currency=row["currency"],
            beneficiary=row["beneficiary"],
            reference=row["reference"],
            created_at=row["created_at"],
        )

    def conflicting_fields(
        self, *, amount: Decimal, currency: str, beneficiary: str, reference: str
    ) -> list[str]:
        """Names of the fields in which a replayed request differs from this payment.

        Amounts compare as numbers, so ``"10"`` and ``"10.00"`` are the same payment.
        """
        differences: list[str] = []
        if self.amount != amount:
            differences.append("amount")
        if self.currency != currency:
            differences.append("currency")
        if self.beneficiary != beneficiary:
            differences.append("beneficiary")
        if self.reference != reference:
            differences.append("reference")
        return differences


class IdempotencyConflictError(Exception):
    """An idempotency key was reused for a payment that is not identical to the one booked under it."""

    def __init__(self, existing: Payment, fields: list[str]) -> None:
        self.existing = existing
        self.fields = fields
        super().__init__(
            f"idempotency key {existing.idempotency_key!r} was already used for payment "
            f"{existing.payment_id} with a different {', '.join(fields)}; an idempotency key may only be "
            "reused to retry the identical payment"
        )


class PaymentStore:
    """Thread-safe payment ledger on one SQLite connection.

    One connection guarded by a lock (instead of a connection per thread) keeps ``":memory:"`` working — each
    new connection to ``":memory:"`` would be a different, empty database — and makes every method atomic with
    respect to the others within this process. Across processes SQLite's own locking and the UNIQUE constraint
    take over.
    """

    def __init__(self, db_path: str | None = None) -> None:
        self.db_path = db_path or ":memory:"
        self._lock = threading.Lock()
        # isolation_level=None: autocommit. Every write is a single statement, so each is its own transaction
        # and nothing is ever left uncommitted when a response (or a simulated failure) goes out.
        self._conn = sqlite3.connect(
            self.db_path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def book(
        self, *, idempotency_key: str, amount: Decimal, currency: str, beneficiary: str, reference: str
    ) -> tuple[Payment, bool]:
        """Book a payment once per idempotency key.

        Returns ``(payment, created)``: ``created`` is False when the key was already booked with the
        identical payment, in which case the stored payment (original id and timestamp) comes back and nothing
        new is written. Raises ``IdempotencyConflictError`` when the key was booked with a different payment.

        The insert is attempted first and the UNIQUE constraint decides, so the check-then-write cannot race,
        not even against another process on the same file.
        """
        candidate = Payment(
            payment_id=f"PAY-{uuid.uuid4().hex}",
            idempotency_key=idempotency_key,
            amount=amount.quantize(CENT),
            currency=currency,
            beneficiary=beneficiary,
            reference=reference,
            created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        with self._lock:
            try:
                self._conn.execute(
                    f"INSERT INTO payments ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant
                    (
                        candidate.payment_id,
                        candidate.idempotency_key,
                        format_amount(candidate.amount),
                        candidate.currency,
                        candidate.beneficiary,
                        candidate.reference,
                        candidate.created_at,
                    ),
                )
                return candidate, True
            except sqlite3.IntegrityError:
                existing = self._get_by_key(idempotency_key)
                if existing is None:  # the constraint that fired was not the idempotency key
                    raise
        fields = existing.conflicting_fields(
            amount=amount, currency=currency, beneficiary=beneficiary, reference=reference
        )
        if fields:
            raise IdempotencyConflictError(existing, fields)
        return existing, False

    def get(self, payment_id: str) -> Payment | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?",  # noqa: S608 - constant
                (payment_id,),
            ).fetchone()
        return Payment.from_row(row) if row is not None else None

    def get_by_key(self, idempotency_key: str) -> Payment | None:
        with self._lock:
            return self._get_by_key(idempotency_key)

    def _get_by_key(self, idempotency_key: str) -> Payment | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM payments WHERE idempotency_key = ?",  # noqa: S608 - constant
            (idempotency_key,),
        ).fetchone()
        return Payment.from_row(row) if row is not None else None

    def list_payments(self, beneficiary: str | None = None) -> list[Payment]:
        """All payments in booking order (``created_at``, ties broken by insertion order)."""
        query = f"SELECT {_COLUMNS} FROM payments"  # noqa: S608 - constant
        params: tuple[str, ...] = ()
        if beneficiary is not None:
            query += " WHERE beneficiary = ?"
            params = (beneficiary,)
        query += " ORDER BY created_at, rowid"
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [Payment.from_row(row) for row in rows]

    def reset(self) -> int:
        """Delete every payment (a test helper); returns how many were deleted."""
        with self._lock:
            return self._conn.execute("DELETE FROM payments").rowcount
