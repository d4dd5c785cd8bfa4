"""The netbeheerder simulator's HTTP bodies: its fault settings, callbacks it sent, requests it took."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.netbeheerder import (
    EAN_PATTERN,
    PARAMS_FOR,
    Callback,
    CallbackType,
    Energy,
    NetbeheerderRequest,
    RequestType,
    Value,
)
from simulators.netbeheerder.store import RequestStatus, StoredRequest

MAX_DELAY_MS = 60_000


def params_problem(request: NetbeheerderRequest) -> str | None:
    """Why the request's params do not fit its type, or None (a real netbeheerder refuses such a request)."""
    params = request.params
    for name in PARAMS_FOR[request.type]:
        if name not in params or params[name] is None:
            return f"{request.type} needs params.{name}"
    if "amount" in PARAMS_FOR[request.type]:
        amount = params["amount"]
        try:
            if not isinstance(amount, str) or not Decimal(amount).is_finite() or Decimal(amount) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            return "params.amount must be a positive decimal string, e.g. '155.00'"
    if request.type == "switch_minimal_supply" and not isinstance(params["on"], bool):
        return "params.on must be true or false"
    if request.type == "schedule_disconnection":
        try:
            date.fromisoformat(str(params["on_date"]))
        except ValueError:
            return "params.on_date must be a date, YYYY-MM-DD"
    return None


class Faults(BaseModel):
    """The complete fault configuration currently in force."""

    model_config = ConfigDict(extra="forbid")

    delay_ms: int = Field(200, ge=0, le=MAX_DELAY_MS)
    duplicate_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    reorder_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    error_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    drop_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)


class FaultsUpdate(BaseModel):
    """Body of ``PUT /faults``: fields left out keep their current value."""

    model_config = ConfigDict(extra="forbid")

    delay_ms: int | None = Field(None, ge=0, le=MAX_DELAY_MS)
    duplicate_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    reorder_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    error_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    drop_rate: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)


class EmitRequest(BaseModel):
    """Body of ``POST /v1/emit``: a callback on the netbeheerder's own initiative (the simulator fills the rest)."""

    model_config = ConfigDict(extra="forbid")

    type: CallbackType
    ean: str = Field(pattern=EAN_PATTERN)
    energy: Energy
    data: dict[str, Value] = Field(default_factory=dict)
    callback_url: str = Field(min_length=1, max_length=500)
    event_id: str | None = Field(None, min_length=1, max_length=200, description="Default: a fresh unique id.")
    request_key: str | None = Field(None, max_length=200)
    occurred_at: AwareDatetime | None = Field(None, description="Default: now.")


class Delivery(BaseModel):
    """One copy of a callback sent to one address: the answer to every attempt, and the final one."""

    event_id: str
    type: CallbackType
    url: str
    copy_no: int = Field(description="1, or 2 for the duplicate of a duplicated callback.")
    attempts: list[int | str] = Field(description="HTTP status, or the connection error's name, per attempt.")
    status: int | str | None = Field(description="The last attempt's outcome.")
    delivered: bool = Field(description="The receiver answered 2xx.")
    sent_at: str


class SentCallback(Delivery):
    callback: Callback


class CallbackList(BaseModel):
    callbacks: list[SentCallback]
    count: int


class RequestAccepted(BaseModel):
    request_id: str
    status: RequestStatus
    replayed: bool = False


class RequestView(BaseModel):
    request_id: str
    idempotency_key: str
    type: RequestType
    status: RequestStatus
    accepted_at: str
    performed_at: str | None
    request: NetbeheerderRequest
    callbacks: list[Delivery]
    outcome: Callback | None = Field(None, description="Once performed: the callback that reports it.")
    replayed: bool = False

    @classmethod
    def of(cls, stored: StoredRequest, *, replayed: bool = False) -> RequestView:
        return cls(request_id=stored.request_id, idempotency_key=stored.idempotency_key, type=stored.request.type,
                   status=stored.status, accepted_at=stored.accepted_at, performed_at=stored.performed_at,
                   request=stored.request, callbacks=[Delivery.model_validate(d) for d in stored.deliveries],
                   outcome=None if stored.outcome is None else Callback.model_validate_json(stored.outcome),
                   replayed=replayed)


class RequestList(BaseModel):
    requests: list[RequestView]
    count: int
