"""How long personal data is kept after a case ends, as dated data (domain.md §3: erased at the end of its
retention period, without breaking the event log).

A retention rule set is chosen by the day the case was closed (the day the period starts to run), and the
erasure records which one it used. Periods count in calendar years, months and days from the closing day in
Brussels; the personal data is kept through the day before the due date and erased from the due date on.
Pure: stdlib and pydantic only, like the other rule modules.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.calendar import add_months
from schemas.energy_rules import _check_contiguous
from schemas.fbu_rules import NoRuleSetError

CaseKind = Literal["fbu", "energy"]


class NoRetentionRuleSetError(NoRuleSetError):
    """No retention rule set covers the closing date: the operator must extend the book."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetentionPeriod(_Frozen):
    """A calendar period after the closing day; ``years=10`` keeps the data for ten full years."""

    years: int = Field(0, ge=0, le=100)
    months: int = Field(0, ge=0, le=1200)
    days: int = Field(0, ge=0, le=36500)

    def due(self, closed_on: date) -> date:
        """The first day on which the data may no longer be kept (years and months clamp to a shorter month)."""
        return add_months(closed_on, 12 * self.years + self.months) + timedelta(days=self.days)

    def describe(self) -> str:
        parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in
                 ((self.years, "year"), (self.months, "month"), (self.days, "day")) if n]
        return ", ".join(parts) or "0 days"


class RetentionRuleSet(_Frozen):
    id: str = Field(min_length=1, max_length=64, examples=["retention-2026"])
    valid_from: date
    valid_until: date | None = None
    source: str = Field(min_length=1, description="Where the periods come from (law, archive selection list).")
    assumptions: tuple[str, ...] = Field(default=(), description="Which periods are Vangnet decisions, not law.")
    periods: dict[CaseKind, RetentionPeriod] = Field(
        description="Per kind of case: how long its parties' personal data is kept after the case was closed.")

    @model_validator(mode="after")
    def _every_kind(self) -> RetentionRuleSet:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(f"{self.id}: valid_until {self.valid_until} is before valid_from {self.valid_from}")
        missing = sorted({"fbu", "energy"} - self.periods.keys())
        if missing:
            raise ValueError(f"{self.id}: no retention period for {', '.join(missing)} cases")
        return self

    def covers(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on <= self.valid_until)


class RetentionBook(_Frozen):
    description: str = ""
    rule_sets: tuple[RetentionRuleSet, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> RetentionBook:
        _check_contiguous(self.rule_sets, [r.id for r in self.rule_sets], "retention rule sets")
        return self

    def select(self, closed_on: date) -> RetentionRuleSet:
        """The rule set in force on the closing day."""
        for rule_set in self.rule_sets:
            if rule_set.covers(closed_on):
                return rule_set
        first = self.rule_sets[0]
        if closed_on < first.valid_from:
            raise NoRetentionRuleSetError(
                f"No retention rule set covers a case closed on {closed_on.isoformat()}: the first one "
                f"({first.id}) starts {first.valid_from.isoformat()}.")
        raise NoRetentionRuleSetError(
            f"No retention rule set covers a case closed on {closed_on.isoformat()}; the operator must add one.")

    def shortest(self, kind: CaseKind) -> RetentionPeriod:
        """The shortest period of any rule set for ``kind`` (to narrow the search for expired data)."""
        return min((r.periods[kind] for r in self.rule_sets), key=lambda p: p.due(date(2000, 1, 1)))
