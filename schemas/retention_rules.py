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

from pydantic import Field, model_validator

from schemas.calendar import add_months
from schemas.common import Frozen, NoRuleSetError
from schemas.dated import check_contiguous, check_until, covers, select_covering

CaseKind = Literal["fbu", "energy"]


class NoRetentionRuleSetError(NoRuleSetError):
    """No retention rule set covers the closing date: the operator must extend the book."""



class RetentionPeriod(Frozen):
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


class RetentionRuleSet(Frozen):
    id: str = Field(min_length=1, max_length=64, examples=["retention-2026"])
    valid_from: date
    valid_until: date | None = None
    source: str = Field(min_length=1, description="Where the periods come from (law, archive selection list).")
    assumptions: tuple[str, ...] = Field(default=(), description="Which periods are Vangnet decisions, not law.")
    periods: dict[CaseKind, RetentionPeriod] = Field(
        description="Per kind of case: how long its parties' personal data is kept after the case was closed.")

    @model_validator(mode="after")
    def _every_kind(self) -> RetentionRuleSet:
        check_until(self.id, self.valid_from, self.valid_until)
        missing = sorted({"fbu", "energy"} - self.periods.keys())
        if missing:
            raise ValueError(f"{self.id}: no retention period for {', '.join(missing)} cases")
        return self

    def covers(self, on: date) -> bool:
        return covers(self, on)


class RetentionBook(Frozen):
    description: str = ""
    rule_sets: tuple[RetentionRuleSet, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> RetentionBook:
        check_contiguous(self.rule_sets, [r.id for r in self.rule_sets], "retention rule sets")
        return self

    def select(self, closed_on: date) -> RetentionRuleSet:
        """The rule set in force on the closing day."""
        return select_covering(self.rule_sets, closed_on, what="retention rule set",
                               subject=f"a case closed on {closed_on.isoformat()}", error=NoRetentionRuleSetError,
                               first_label="the first one")

    def shortest(self, kind: CaseKind) -> RetentionPeriod:
        """The shortest period of any rule set for ``kind`` (to narrow the search for expired data)."""
        return min((r.periods[kind] for r in self.rule_sets), key=lambda p: p.due(date(2000, 1, 1)))
