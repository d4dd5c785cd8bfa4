"""Domain events: what the log in PostgreSQL records, in the order it happened.

Each event is an envelope (``DomainEvent``: stream, version, case, time) around a typed body (an ``EventData``
subclass, one per event type, with its own schema version). Workflows build them (deterministic ids:
``{stream}:{version}``) and an activity appends them, so a retried append is a no-op. The body holds no personal
data: parties are referred to by role, never by name. ``schemas.event_catalog`` lists every type and lifts old
versions to the current one on read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

CaseKind = Literal["fbu", "energy"]


class EventData(BaseModel):
    """The typed body of one event type. ``TYPE`` names it in the log; ``VERSION`` is its current schema version:
    raise it (and add an upcaster in ``schemas.event_catalog``) when the body's shape changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        """The JSON body as stored: the fields that were given (an optional detail left out stays out)."""
        return self.model_dump(mode="json", exclude_unset=True)


class CaseClosed(EventData):
    """A case (FBU or energy) ended; the details say why, depending on the reason."""

    TYPE = "CaseClosed"
    reason: str
    closed_on: date
    note: str | None = None
    reasons: list[str] | None = None
    rule_set_id: str | None = None
    deadline: date | None = None
    party: str | None = None
    on: date | None = None
    reported_by: str | None = None


class CaseOpeningAbandoned(EventData):
    """A case workflow ran without its case: the opening that started it was never committed (the API failed
    between starting the workflow and recording the case), so no party data exists. The reconciler ended the
    workflow and records it here; the case leaves every list."""

    TYPE = "CaseOpeningAbandoned"
    reason: str
    workflow_run_id: str
    abandoned_on: date


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    stream: str
    stream_version: int
    case_id: str
    case_kind: CaseKind
    ocmw_id: str
    type: str
    schema_version: int = 1
    data: dict[str, Any]
    occurred_at: AwareDatetime


class StoredEvent(DomainEvent):
    position: int
    recorded_at: datetime


class AppendEvents(BaseModel):
    """Activity input: the events of one step, each stream's in version order (a case's step may also open a
    claim's stream)."""

    events: list[DomainEvent]


class StreamWriter:
    """Numbers a workflow's events; the workflow is the single writer of its stream."""

    def __init__(self, stream: str, case_id: str, case_kind: CaseKind, ocmw_id: str, version: int = 0) -> None:
        self.stream = stream
        self.case_id = case_id
        self.case_kind: CaseKind = case_kind
        self.ocmw_id = ocmw_id
        self.version = version
        # The workflow task (its history length) that last appended through a local activity: a run must not end
        # in that task (workflows/common.py, ``handlers_done_in_a_quiet_task``).
        self.appended_in_task: int | None = None

    def event(self, body: EventData, occurred_at: datetime) -> DomainEvent:
        self.version += 1
        return DomainEvent(
            event_id=f"{self.stream}:{self.version}",
            stream=self.stream,
            stream_version=self.version,
            case_id=self.case_id,
            case_kind=self.case_kind,
            ocmw_id=self.ocmw_id,
            type=body.TYPE,
            schema_version=body.VERSION,
            data=body.to_data(),
            occurred_at=occurred_at,
        )
