"""The wire format between Vangnet and a netbeheerder, and the callback signature (HMAC-SHA256).

Vangnet asks the netbeheerder (the grid operator acting as social supplier, domain.md §2) to act with a
``NetbeheerderRequest``; the netbeheerder answers later, asynchronously, with a ``Callback`` POSTed to the request's
``callback_url``. It also calls back on its own initiative (invoices, debt, a customer who left).

A callback is signed over ``f"{timestamp}."`` followed by the raw body, with one secret per netbeheerder::

    X-Vangnet-Timestamp: 1767225600
    X-Vangnet-Signature: sha256=<hex HMAC-SHA256(secret, b"1767225600." + raw_body)>

During a rotation two secrets are valid. A timestamp more than five minutes off (either way) is refused, so a
captured request cannot be replayed later; duplicates within that window are caught by the callback's ``event_id``.

This module is pure (no I/O): the workflow sandbox imports it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.text import NoNul

TIMESTAMP_HEADER = "X-Vangnet-Timestamp"
SIGNATURE_HEADER = "X-Vangnet-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_AGE_SECONDS = 300

RequestType = Literal["request_takeover", "activate_prepayment", "grant_emergency_credit", "switch_minimal_supply",
                      "schedule_disconnection", "load_topup"]
CallbackType = Literal["takeover_confirmed", "prepayment_activated", "invoice_issued", "invoice_paid",
                       "invoice_unpaid", "debt_updated", "topup_loaded", "minimal_supply_switched", "customer_left",
                       "emergency_credit_granted", "disconnection_done"]
Energy = Literal["electricity", "gas"]
Value = str | int | bool | None

# The callback that confirms each request, and the request parameters it echoes back.
CALLBACK_FOR: dict[str, CallbackType] = {
    "request_takeover": "takeover_confirmed",
    "activate_prepayment": "prepayment_activated",
    "grant_emergency_credit": "emergency_credit_granted",
    "switch_minimal_supply": "minimal_supply_switched",
    "schedule_disconnection": "disconnection_done",
    "load_topup": "topup_loaded",
}
PARAMS_FOR: dict[str, tuple[str, ...]] = {
    "request_takeover": (),
    "activate_prepayment": (),
    "grant_emergency_credit": ("amount",),
    "switch_minimal_supply": ("on",),
    "schedule_disconnection": ("on_date",),
    "load_topup": ("amount",),
}

EAN_PATTERN = r"^[0-9]{18}$"  # ASCII digits only (\d would also match other scripts' digits)
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")  # plain seconds; no sign, spaces, underscores or decimals


class NetbeheerderRequest(BaseModel):
    """Vangnet asks the netbeheerder to act; a repeat with the same ``idempotency_key`` is the same request.

    ``params`` per type: grant_emergency_credit / load_topup ``{"amount": "155.00"}``, switch_minimal_supply
    ``{"on": true}``, schedule_disconnection ``{"on_date": "2027-03-01"}``; the others none.
    """

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=200)
    type: RequestType
    ean: str = Field(pattern=EAN_PATTERN, description="The 18-digit EAN of the connection point.")
    energy: Energy
    netbeheerder: str = Field(min_length=1, max_length=50, examples=["fluvius"])
    params: dict[str, Value] = Field(default_factory=dict)
    callback_url: str = Field(min_length=1, max_length=500)


class CallbackEnvelope(NoNul):
    """What every callback carries besides its type and data; ``event_id`` makes redeliveries recognisable and
    ``request_key`` is the idempotency key of the request it answers (None when the netbeheerder acts on its own)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    ean: str = Field(pattern=EAN_PATTERN)
    energy: Energy
    netbeheerder: str = Field(min_length=1, max_length=50)
    occurred_at: AwareDatetime
    request_key: str | None = Field(None, max_length=200)


class Callback(CallbackEnvelope):
    """A callback as it travels to the case workflow: ``data`` as received. At the API it has been checked
    against its type's data model first (``schemas.netbeheerder_callbacks``), so the fields the case needs are
    there and well typed; the workflow still refuses (records) what it cannot use, never failing on it.
    """

    type: CallbackType
    data: dict[str, Value] = Field(default_factory=dict)


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """``"sha256=" + hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + raw_body))``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signature_headers(secret: str, raw_body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers that sign ``raw_body`` (now, unless ``timestamp`` is given)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, raw_body)}


def verify(secrets: Sequence[str], timestamp_header: str | None, signature_header: str | None, raw_body: bytes,
           now: float, max_age_seconds: int = MAX_AGE_SECONDS) -> bool:
    """True when one of ``secrets`` signed this body at a time within ``max_age_seconds`` of ``now``.

    False on a missing header, a timestamp that is not plain seconds, a timestamp more than ``max_age_seconds``
    in the past or in the future, or a signature none of the secrets produced. Every secret is compared in
    constant time (no early exit), so the timing does not tell which secret came close.
    """
    if not timestamp_header or not signature_header:
        return False
    if not _TIMESTAMP_RE.fullmatch(timestamp_header):
        return False
    timestamp = int(timestamp_header)
    if abs(now - timestamp) > max_age_seconds:
        return False
    given = signature_header.encode("utf-8", errors="replace")  # compare_digest refuses non-ASCII str
    matches = [hmac.compare_digest(sign(secret, timestamp, raw_body).encode(), given) for secret in secrets if secret]
    return any(matches)
