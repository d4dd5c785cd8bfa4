"""Aggregate reports for the OCMW's coordinator and the auditor: counts and euro sums per organisation.

No field can hold a case id, claim id, connection point, name, national number, IBAN or address: every model
forbids extra fields and holds only organisation ids, categories, months, counts and money. A count reads
``null`` where small-cell protection hides it (the auditor's view; see docs/security.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from schemas.energy import Energy, Phase
from schemas.fbu import CaseStatus, PayoutKind, PayoutStatus
from schemas.money import euro_text

#: A euro sum (totals may exceed a single amount's 12 digits), serialised as a string like every amount.
EuroSum = Annotated[
    Decimal,
    Field(ge=0, max_digits=16, decimal_places=2, examples=["3274.00"]),
    PlainSerializer(euro_text, return_type=str, when_used="json"),
]
#: A count; ``null`` = hidden by small-cell protection (fewer than ``min_cell``, or hidden with it so that it
#: cannot be recomputed from the total).
Count = Annotated[int, Field(ge=0)] | None


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(_Report):
    """The period asked for (inclusive); null = unbounded on that side."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(alias="from")
    to: date | None


class MonthCount(_Report):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    cases: Count


class PayoutLine(_Report):
    rule_set_id: str = Field(examples=["fbu-2022"])
    kind: PayoutKind
    payouts: Count
    amount: EuroSum | None = Field(description="null when the count is hidden")


class FbuOrganisation(_Report):
    ocmw_id: str = Field(examples=["ocmw-44021"])
    cases_total: Count = Field(description="Cases opened in the period (every status).")
    cases_by_status: dict[CaseStatus, Count] = Field(description="Those cases by their current status.")
    cases_opened_by_month: list[MonthCount] = Field(description="Those cases by the month they were opened.")
    claims_total: Count = Field(description="Claims (initial and tranche 2) last submitted in the period.")
    claims_by_status: dict[PayoutStatus, Count]
    payouts_total: Count = Field(description="Payouts (forfait, tranche 1, tranche 2) paid in the period.")
    paid_total: EuroSum | None = Field(description="Their sum in euro; null when the count is hidden.")
    payouts: list[PayoutLine] = Field(description="Per rule set and kind of payout.")


class _Scoped(_Report):
    """What every report starts with: the period it covers and the small-cell threshold applied."""

    period: Period
    min_cell: int | None = Field(
        description="Non-zero counts below this are hidden (null); null = nothing hidden (an organisation's own "
                    "figures, for its coordinator).")


class FbuReport(_Scoped):
    organisations: list[FbuOrganisation]


class EnergyOrganisation(_Report):
    ocmw_id: str = Field(examples=["ocmw-44021"])
    cases_total: Count = Field(description="Energy cases whose notice of default falls in the period.")
    cases_by_phase: dict[Phase, Count] = Field(description="Those cases by their current phase.")
    cases_by_energy: dict[Energy, Count]
    signals_total: Count = Field(description="Outreach signals received in the period (households without a case).")
    signals_by_energy: dict[Energy, Count]


class EnergyReport(_Scoped):
    organisations: list[EnergyOrganisation]
