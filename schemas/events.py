"""Domain events: what the log in PostgreSQL records, in the order it happened.

Workflows build them (deterministic ids: ``{stream}:{version}``) and an activity appends them, so a retried
append is a no-op. ``data`` holds no personal data: parties are referred to by role, never by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

CaseKind = Literal["fbu", "energy"]


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    stream: str
    stream_version: int
    case_id: str
    case_kind: CaseKind
    ocmw_id: str
    type: str
    data: dict[str, Any]
    occurred_at: AwareDatetime


class StoredEvent(DomainEvent):
    position: int
    recorded_at: datetime


class AppendEvents(BaseModel):
    """Activity input: one or more events of one stream, in version order."""

    events: list[DomainEvent]


class StreamWriter:
    """Numbers a workflow's events; the workflow is the single writer of its stream."""

    def __init__(self, stream: str, case_id: str, case_kind: CaseKind, ocmw_id: str, version: int = 0) -> None:
        self.stream = stream
        self.case_id = case_id
        self.case_kind: CaseKind = case_kind
        self.ocmw_id = ocmw_id
        self.version = version

    def event(self, type_: str, data: dict[str, Any], occurred_at: datetime) -> DomainEvent:
        self.version += 1
        return DomainEvent(
            event_id=f"{self.stream}:{self.version}",
            stream=self.stream,
            stream_version=self.version,
            case_id=self.case_id,
            case_kind=self.case_kind,
            ocmw_id=self.ocmw_id,
            type=type_,
            data=data,
            occurred_at=occurred_at,
        )
