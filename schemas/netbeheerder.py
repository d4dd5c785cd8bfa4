"""The wire format between Vangnet and a netbeheerder, and the callback signature (HMAC-SHA256).

A callback is signed over ``f"{timestamp}."`` followed by the raw body, with one secret per netbeheerder; during a
rotation two secrets are valid. A timestamp more than five minutes off is refused, so a captured request cannot
be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TIMESTAMP_HEADER = "X-Vangnet-Timestamp"
SIGNATURE_HEADER = "X-Vangnet-Signature"
MAX_AGE_SECONDS = 300

RequestType = Literal["request_takeover", "activate_prepayment", "grant_emergency_credit", "switch_minimal_supply",
                      "schedule_disconnection", "load_topup"]
CallbackType = Literal["takeover_confirmed", "prepayment_activated", "invoice_issued", "invoice_paid",
                       "invoice_unpaid", "debt_updated", "topup_loaded", "minimal_supply_switched", "customer_left",
                       "emergency_credit_granted", "disconnection_done"]
Value = str | int | bool | None


class NetbeheerderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=200)
    type: RequestType
    ean: str = Field(pattern=r"^\d{18}$")
    energy: Literal["electricity", "gas"]
    netbeheerder: str = Field(min_length=1, max_length=50)
    params: dict[str, Value] = Field(default_factory=dict)
    callback_url: str = Field(min_length=1, max_length=500)


class Callback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    type: CallbackType
    ean: str = Field(pattern=r"^\d{18}$")
    energy: Literal["electricity", "gas"]
    netbeheerder: str = Field(min_length=1, max_length=50)
    occurred_at: AwareDatetime
    request_key: str | None = Field(None, max_length=200)
    data: dict[str, Value] = Field(default_factory=dict)


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secrets: Sequence[str], timestamp_header: str | None, signature_header: str | None, raw_body: bytes,
           now: float, max_age_seconds: int = MAX_AGE_SECONDS) -> bool:
    """True when one of ``secrets`` signed this body at a time within ``max_age_seconds`` of ``now``."""
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now - timestamp) > max_age_seconds:
        return False
    return any(hmac.compare_digest(sign(secret, timestamp, raw_body), signature_header) for secret in secrets)
