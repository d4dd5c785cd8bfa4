"""Every domain event type, and how an event read from the log becomes its typed body.

The log is kept for years, so a body written under an older schema version stays in it unchanged; on read,
upcasters lift it step by step (v1 → v2 → …) to the current version before it is validated. Add an upcaster for
each version you raise; never rewrite stored events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from schemas.calendar import brussels_date
from schemas.energy_events import ENERGY_EVENTS
from schemas.events import CaseClosed, CaseOpeningAbandoned, DomainEvent, EventData
from schemas.fbu_events import FBU_EVENTS
from schemas.retention import PersonalDataErased

E = TypeVar("E", bound=EventData)
Upcaster = Callable[[dict[str, Any], DomainEvent], dict[str, Any]]

ALL: tuple[type[EventData], ...] = (*FBU_EVENTS, *ENERGY_EVENTS, CaseClosed, CaseOpeningAbandoned,
                                    PersonalDataErased)
MODELS: dict[str, type[EventData]] = {m.TYPE: m for m in ALL}


class UnknownEventError(ValueError):
    """The log holds a type or version this code cannot read (written by a newer release?)."""


def _prepayment_request_day(data: dict[str, Any], event: DomainEvent) -> dict[str, Any]:
    """v1 → v2: the request was made on the day the event occurred (Brussels)."""
    return {**data, "requested_on": brussels_date(event.occurred_at).isoformat()}


def _monthly_consumption_name(data: dict[str, Any], event: DomainEvent) -> dict[str, Any]:
    """v1 → v2: the amount was always the average monthly winter consumption; only its name changed."""
    rest = {k: v for k, v in data.items() if k != "average_winter_consumption_eur"}
    return {**rest, "average_monthly_winter_consumption_eur": data["average_winter_consumption_eur"]}


def _credit_index_unrecorded(data: dict[str, Any], event: DomainEvent) -> dict[str, Any]:
    """v1 → v2: version 1 did not record whether or how the credit was indexed."""
    return {**data, "indexed": None, "index_set": None, "index_factor": None}


# (type, from version) → function giving the body at version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("PrepaymentActivationRequested", 1): _prepayment_request_day,
    ("WinterSupportApplied", 1): _monthly_consumption_name,
    ("EmergencyCreditGranted", 1): _credit_index_unrecorded,
}


def decode(event: DomainEvent) -> EventData:
    """The event's body as its current typed model, upcast from the version it was stored with."""
    model = MODELS.get(event.type)
    if model is None:
        raise UnknownEventError(f"unknown event type {event.type!r} ({event.event_id})")
    data, version = event.data, event.schema_version
    if version > model.VERSION:
        raise UnknownEventError(f"{event.type} v{version} is newer than this code (v{model.VERSION})")
    while version < model.VERSION:
        upcast = UPCASTERS.get((event.type, version))
        if upcast is None:
            raise UnknownEventError(f"no upcaster for {event.type} v{version}")
        data, version = upcast(data, event), version + 1
    return model.model_validate(data)


def body(event: DomainEvent, model: type[E]) -> E:
    """The event's body, checked to be of the expected type."""
    decoded = decode(event)
    if not isinstance(decoded, model):
        raise TypeError(f"{event.event_id} is a {event.type}, not a {model.TYPE}")
    return decoded
