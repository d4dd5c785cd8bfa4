"""The FBU procedure's domain events (domain.md §1): the case's own stream and each claim's stream.

Amounts are exact decimals and dates Brussels calendar dates; in the log both are JSON strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from schemas.events import EventData
from schemas.fbu import ClaimKind, Party, PayoutKind, RentalMarket


class Instalment(BaseModel):
    due_on: date
    amount: Decimal


class PayoutLine(BaseModel):
    kind: PayoutKind
    amount: Decimal


class CaseOpened(EventData):
    """``rule_set_id`` is the set in force on the opening day: eligibility then is provisional (domain.md §1).

    ``provisional`` True: the answer is re-judged under the submission day's set (a case ineligible under the opening
    day's set but covered by a later one is opened, its reasons say so); False: refused at opening for good (no
    set that a submission could still fall under covers it). None on events written before this field."""

    TYPE = "CaseOpened"
    rental_market: RentalMarket
    municipality_nis: str
    monthly_rent: Decimal
    arrears_amount: Decimal
    arrears_since: date
    opened_on: date
    rule_set_id: str | None
    eligible: bool
    eligibility_reasons: list[str]
    provisional: bool | None = None


class _AgreementVersion(EventData):
    version: int
    landlord_payment: Decimal
    plan: list[Instalment]
    plan_total: Decimal
    drafted_on: date
    signature_deadline: date


class AgreementDrafted(_AgreementVersion):
    TYPE = "AgreementDrafted"


class AgreementAmended(_AgreementVersion):
    """A new version of a (possibly signed) agreement: it needs three signatures again."""

    TYPE = "AgreementAmended"


class AgreementSigned(EventData):
    TYPE = "AgreementSigned"
    version: int
    party: Party
    signed_on: date
    evidence: str


class SignatureRefused(EventData):
    TYPE = "SignatureRefused"
    version: int
    party: Party
    reason: str
    refused_on: date


class AgreementInForce(EventData):
    TYPE = "AgreementInForce"
    version: int
    in_force_on: date


class AgreementAmendmentLapsed(EventData):
    """An amendment was refused or not signed in time: the version signed before stays in force."""

    TYPE = "AgreementAmendmentLapsed"
    lapsed_version: int
    reason: str
    version_in_force: int


class RepaymentRecorded(EventData):
    TYPE = "RepaymentRecorded"
    amount: Decimal
    paid_on: date
    repaid_total: Decimal


class PlanBreached(EventData):
    TYPE = "PlanBreached"
    agreement_version: int
    instalment_due_on: date
    grace_days: int
    detected_on: date


class StableHousingProposed(EventData):
    """``kept_since`` and ``kept_months``: the plan was kept for that many calendar months from that day (absent
    on proposals of runs that counted kept instalments instead)."""

    TYPE = "StableHousingProposed"
    because: str
    consecutive_kept: int
    proposed_on: date
    kept_since: date | None = None
    kept_months: int | None = None


class StableHousingDeclared(EventData):
    TYPE = "StableHousingDeclared"
    reason: str
    declared_on: date
    tranche_2: bool


class PayoutsClaimed(EventData):
    """On the case's stream: the case claims these payouts (its claim workflow then submits them)."""

    TYPE = "PayoutsClaimed"
    claim_id: str
    claim_kind: ClaimKind
    payouts: list[PayoutLine]
    rule_set_id: str
    agreement_in_force_on: date | None
    claimed_on: date


class ClaimSubmitted(EventData):
    """On the claim's stream; ``attempt`` > 1 is a resubmission after a rejection."""

    TYPE = "ClaimSubmitted"
    claim_id: str
    claim_kind: ClaimKind
    payouts: list[PayoutLine]
    amount: Decimal
    rule_set_id: str
    arrears_amount: Decimal
    agreement_version: int
    agreement_in_force_on: date | None
    submitted_on: date
    attempt: int
    comment: str | None


class _ClaimDecided(EventData):
    claim_id: str
    decided_on: date
    reason: str | None


class ClaimApproved(_ClaimDecided):
    TYPE = "ClaimApproved"


class ClaimRejected(_ClaimDecided):
    TYPE = "ClaimRejected"


class PayoutPaid(EventData):
    TYPE = "PayoutPaid"
    claim_id: str
    claim_kind: ClaimKind
    payment_id: str
    amount: Decimal
    payouts: list[PayoutLine]
    rule_set_id: str
    paid_on: date


FBU_EVENTS: tuple[type[EventData], ...] = (
    CaseOpened, AgreementDrafted, AgreementAmended, AgreementSigned, SignatureRefused, AgreementInForce,
    AgreementAmendmentLapsed, RepaymentRecorded, PlanBreached, StableHousingProposed, StableHousingDeclared,
    PayoutsClaimed, ClaimSubmitted, ClaimApproved, ClaimRejected, PayoutPaid,
)
