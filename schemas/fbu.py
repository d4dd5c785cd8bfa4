"""FBU case types: API bodies, workflow inputs, update commands and the live case state.

Personal data (names, national number, IBANs, address) only appears in the API bodies ``OpenFbuCase``; the
workflow input and everything that travels through Temporal carry none of it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import Deadline, RuleBetweenFields, Strict
from schemas.fbu_rules import FbuRuleSet
from schemas.identifiers import Iban, NationalNumber, NisCode
from schemas.money import Euro, PositiveEuro
from schemas.text import no_nul_in_schema

Party = Literal["tenant", "landlord", "ocmw"]
PARTIES: tuple[Party, ...] = ("tenant", "landlord", "ocmw")
RentalMarket = Literal["private", "svk", "social"]
CaseStatus = Literal["draft", "awaiting_signatures", "in_force", "plan_breached", "stable_housing", "closed"]
CloseReason = Literal["eviction_filed", "tenant_moved", "withdrawn", "plan_breached"]
ClosingReason = Literal[
    "completed",
    "eviction_filed",
    "tenant_moved",
    "withdrawn",
    "plan_breached",
    "stable_housing_after_breach",
    "signature_deadline_passed",
    "signature_refused",
    "ineligible",
]
PayoutKind = Literal["forfait", "tranche_1", "tranche_2"]
PayoutStatus = Literal["claimed", "approved", "rejected", "paid"]
ClaimKind = Literal["initial", "tranche_2"]



# ---- API bodies -------------------------------------------------------------------------------------------


class TenantIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Eloïse Janssens"])
    national_number: NationalNumber
    iban: Iban


class LandlordIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Immo De Smet bv"])
    iban: Iban


class DwellingIn(Strict):
    address: str = Field(min_length=3, max_length=300, examples=["Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent"])
    municipality_nis: NisCode
    rental_market: RentalMarket = Field(examples=["private"])
    monthly_rent: PositiveEuro


class ArrearsIn(Strict):
    amount: PositiveEuro
    since: date = Field(examples=["2026-05-01"], description="Date the arrears arose (not in the future).")


class OpenFbuCase(Strict):
    tenant: TenantIn
    landlord: LandlordIn
    dwelling: DwellingIn
    arrears: ArrearsIn


class PlanItem(Strict):
    due_on: date = Field(examples=["2026-12-01"])
    amount: PositiveEuro


class DraftAgreement(Strict):
    landlord_payment: Euro = Field(description="What the OCMW pays the landlord at once; the plan covers the rest.")
    plan: list[PlanItem] = Field(min_length=1, max_length=120)

    RULES_BETWEEN_FIELDS: ClassVar[tuple[str, ...]] = (
        "The instalments of `plan` have distinct due dates, in order (each `due_on` after the one before).",)

    @model_validator(mode="after")
    def _dates_ascending(self) -> DraftAgreement:
        dates = [item.due_on for item in self.plan]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise RuleBetweenFields("The instalments of the repayment plan must have distinct due dates, in order.")
        return self

    @property
    def plan_total(self) -> Decimal:
        return sum((item.amount for item in self.plan), Decimal("0.00"))


class SignAgreement(Strict):
    party: Party
    signed_on: date | None = Field(None, description="Defaults to today (Europe/Brussels).")
    evidence: str = Field(min_length=3, max_length=500, examples=["Signed on paper at the OCMW office; scan in file"])


class RefuseSignature(Strict):
    party: Party
    reason: str = Field(min_length=3, max_length=1000)


class RecordRepayment(Strict):
    amount: PositiveEuro
    paid_on: date


class DeclareStableHousing(Strict):
    reason: str = Field(min_length=3, max_length=1000, examples=["Plan kept for 6 months, rent paid on time"])


class CloseCase(Strict):
    reason: CloseReason
    note: str | None = Field(None, max_length=1000)


def _reason_rule(schema: dict[str, Any]) -> None:
    """The schema says what ``ClaimDecision._reject_needs_reason`` checks: a rejection has 3+ characters of reason."""
    no_nul_in_schema(schema)
    reason = {"type": "string", "pattern": r"^\s*[^\s\x00][^\x00]+[^\s\x00]\s*$"}
    schema.update({"if": {"properties": {"decision": {"const": "reject"}}},
                   "then": {"required": ["reason"], "properties": {"reason": reason}}})


class ClaimDecision(Strict):
    model_config = ConfigDict(json_schema_extra=lambda schema: _reason_rule(schema))

    decision: Literal["approve", "reject"]
    reason: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _reject_needs_reason(self) -> ClaimDecision:
        if self.decision == "reject" and not (self.reason and len(self.reason) >= 3):
            raise ValueError("A rejection needs a reason, so the OCMW knows what to correct.")
        return self


class ResubmitClaim(Strict):
    comment: str = Field(min_length=3, max_length=1000, examples=["Corrected: signed agreement version 2 attached"])


# ---- Workflow inputs and state ----------------------------------------------------------------------------


class FbuCaseInput(BaseModel):
    case_id: str
    ocmw_id: str
    rental_market: RentalMarket
    municipality_nis: str
    monthly_rent: Decimal
    arrears_amount: Decimal
    arrears_since: date
    carried: FbuWorkflowState | None = Field(None, description="On continue-as-new: the state the case goes on with.")


class Signature(BaseModel):
    party: Party
    signed_on: date
    evidence: str


class AgreementVersion(BaseModel):
    version: int
    landlord_payment: Decimal
    plan: list[PlanItem]
    plan_total: Decimal
    drafted_on: date
    signature_deadline: date
    signatures: list[Signature] = []
    in_force_on: date | None = None


class Repayment(BaseModel):
    amount: Decimal
    paid_on: date


InstalmentStatus = Literal["upcoming", "kept", "late", "paid_late", "breached"]


class InstalmentProgress(BaseModel):
    due_on: date
    amount: Decimal
    status: InstalmentStatus


class PlanProgress(BaseModel):
    plan_total: Decimal
    repaid_total: Decimal
    remaining: Decimal
    consecutive_kept: int
    completed: bool
    instalments: list[InstalmentProgress]


class Payout(BaseModel):
    kind: PayoutKind
    amount: Decimal
    status: PayoutStatus
    claim_id: str
    rule_set_id: str
    payment_id: str | None = None



class Refusal(BaseModel):
    party: Party
    reason: str
    refused_on: date


class FbuCaseState(BaseModel):
    case_id: str
    ocmw_id: str
    status: CaseStatus
    closing_reason: ClosingReason | None = None
    opened_on: date
    rental_market: RentalMarket
    municipality_nis: str
    monthly_rent: Decimal
    arrears_amount: Decimal
    arrears_since: date
    eligibility_reasons: list[str] = []
    eligibility_provisional: bool = Field(
        False, description="True while eligibility is only the opening day's answer: the rule set of the day the "
                           "signed agreement is submitted decides (domain.md §1).")
    eligibility_rule_set_id: str | None = Field(
        None, description="The rule set eligibility was judged under: the opening day's, then the submission day's.")
    rule_set_id: str | None = None
    agreement: AgreementVersion | None = None
    previous_agreements: list[AgreementVersion] = []
    plan_progress: PlanProgress | None = None
    deadlines: list[Deadline] = []
    payouts: list[Payout] = []
    refusal: Refusal | None = None
    stable_housing_proposed_on: date | None = None
    stable_housing_reason: str | None = None
    breached_on: date | None = None


class FbuWorkflowState(BaseModel):
    """Everything the FBU case workflow knows, in one object: the case as the ``state`` query shows it, and what
    only the workflow needs. Carried whole over continue-as-new (``FbuCaseInput.carried``)."""

    case: FbuCaseState
    opened: bool = False  # CaseOpened is in the log
    rules: FbuRuleSet | None = None  # the opening day's set for the process values, then the submission day's
    repayments: list[Repayment] = []
    ever_in_force: AgreementVersion | None = None  # the last version that came into force
    initial_claimed: bool = False
    landlord_payment_due: date | None = None
    stream_version: int = 0  # the case stream's last event number, when the run continued as new


class ClaimPayout(BaseModel):
    kind: PayoutKind
    amount: Decimal


class FbuClaimInput(BaseModel):
    claim_id: str
    case_id: str
    ocmw_id: str
    claim_kind: ClaimKind
    payouts: list[ClaimPayout]
    rule_set_id: str
    arrears_amount: Decimal
    agreement_version: int
    agreement_in_force_on: date | None
    submitted_on: date
    # The case appended this claim's first ``ClaimSubmitted`` itself (claims of cases on the current code): the
    # workflow starts when Wonen-Vlaanderen first acts on the claim and has nothing to submit.
    submitted_by_case: bool = False


class ClaimState(BaseModel):
    claim_id: str
    case_id: str
    ocmw_id: str
    claim_kind: ClaimKind
    status: PayoutStatus
    payouts: list[ClaimPayout]
    amount: Decimal
    rule_set_id: str
    arrears_amount: Decimal
    agreement_version: int
    agreement_in_force_on: date | None
    submitted_on: date
    attempt: int
    decision_reason: str | None = None
    decided_on: date | None = None
    payment_id: str | None = None


class ClaimStatusChanged(BaseModel):
    claim_id: str
    status: PayoutStatus
    payment_id: str | None = None


FbuCaseInput.model_rebuild()  # its ``carried`` is defined further down
