"""Inputs and outputs of the retention job (its workflow and activities). Ids only: no personal data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from schemas.events import CaseKind, EventData

Party = Literal["tenant", "landlord", "household"]


class SubjectRef(BaseModel):
    """A data subject of a case: whose key to delete, and which case and party the record names."""

    subject_id: str
    party: Party
    case_id: str
    case_kind: CaseKind
    ocmw_id: str


class ExpiredSubject(SubjectRef):
    """A subject whose case was closed long enough ago that its retention period is over."""

    closed_on: date
    due_on: date
    rule_set_id: str
    period: str


class FindExpired(BaseModel):
    as_of: date
    limit: int = Field(gt=0, le=5000)


class EraseExpired(BaseModel):
    as_of: date
    at: AwareDatetime
    subject_ids: list[str]


class RetentionSweepInput(BaseModel):
    """``as_of`` None means today in Brussels (the scheduled run); a date is for catching up or rehearsing."""

    as_of: date | None = None
    batch_size: int = Field(200, gt=0, le=5000)
    dry_run: bool = False
    #: the counts of the runs before a continue-as-new, so the result covers the whole sweep
    carried: RetentionProgress | None = None


class RetentionProgress(BaseModel):
    as_of: date | None = None
    found: int = 0
    erased: int = 0
    batches: int = 0
    rule_sets: list[str] = Field(default_factory=list)
    done: bool = False
    started_at: datetime | None = None
    #: in a dry run: what would be erased (subject ids, cases and due dates; never personal data)
    would_erase: list[ExpiredSubject] = Field(default_factory=list)


RetentionSweepInput.model_rebuild()


class PersonalDataErased(EventData):
    """A subject's key was deleted: its personal data can never be read again. ``reason`` is ``retention`` (with
    the rule set, period and days that made it due) or ``request``."""

    TYPE = "PersonalDataErased"
    subject_id: str
    party: Party
    reason: str
    rule_set_id: str | None = None
    period: str | None = None
    closed_on: date | None = None
    due_on: date | None = None
    as_of: date | None = None
    via: str | None = None
