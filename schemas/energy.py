"""Energy-arrears case types: API bodies, workflow input (with the state carried over continue-as-new), commands
and the live case state. Personal data of the household only appears in ``OpenEnergyCase``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationInfo, model_validator

from schemas.common import Deadline, StepResult, Strict
from schemas.energy_rules import EnergyRuleBook
from schemas.identifiers import Ean18, NationalNumber, NisCode
from schemas.money import PositiveEuro
from schemas.netbeheerder import Callback

Energy = Literal["electricity", "gas"]
Phase = Literal["notice_period", "awaiting_takeover", "social_supplier", "prepayment", "closed"]
SupplierEventType = Literal["payment_received", "payment_plan_agreed", "contract_ended", "new_supplier_found"]
LacAdviceKind = Literal["disconnect", "switch_off_minimal_supply", "refuse"]
EnergyCloseReason = Literal["moved", "debt_paid", "back_to_commercial_supplier", "withdrawn"]
EnergyClosingReason = Literal[
    "moved", "debt_paid", "back_to_commercial_supplier", "withdrawn", "payment_received", "payment_plan_agreed",
    "new_supplier_found",
]

__all__ = ["Callback", "Deadline", "StepResult"]

# The input of winter heating support, and the name it had before (still read from recorded data).
MONTHLY_CONSUMPTION_NAME = "average_monthly_winter_consumption_eur"
OLD_CONSUMPTION_NAME = "average_winter_consumption_eur"


# ---- API bodies -------------------------------------------------------------------------------------------


class HouseholdIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Samira Benali"])
    national_number: NationalNumber
    address: str = Field(min_length=3, max_length=300, examples=["Brugsesteenweg 12, 9000 Gent"])
    municipality_nis: NisCode


class OpenEnergyCase(Strict):
    household: HouseholdIn
    ean: Ean18
    energy: Energy
    supplier: str = Field(min_length=1, max_length=100, examples=["Engie"])
    netbeheerder: str = Field(min_length=1, max_length=50, examples=["fluvius"])
    notice_of_default_on: date = Field(examples=["2026-11-02"], description="Date of the supplier's notice of default.")


class SupplierEvent(Strict):
    type: SupplierEventType
    on: date


class PrepaymentRequest(Strict):
    note: str | None = Field(None, max_length=500, examples=["The customer asks for the budget meter now"])


class LacRequest(Strict):
    hearing_on: date


class LacAdvice(Strict):
    advice: LacAdviceKind
    on: date


TOPUP_FORMULA = ("each half-monthly top-up is the rule book's winter_support.topup_share (60% today) of the "
                 "average monthly winter consumption, divided by 2: an average of 180.00 a month gives top-ups of "
                 "54.00")


class WinterSupportApplication(Strict):
    """The OCMW applies for winter heating support on a prepayment meter."""

    average_monthly_winter_consumption_eur: PositiveEuro = Field(
        description=f"The household's average MONTHLY winter consumption in euro; {TOPUP_FORMULA}.",
        examples=["180.00"])
    heating: Literal["gas", "electric_night_tariff"] = "gas"

    @model_validator(mode="before")
    @classmethod
    def _recorded_name(cls, data: Any, info: ValidationInfo) -> Any:
        """Updates recorded in Temporal histories before the field was renamed carry its old name; they are
        decoded from JSON by the data converter, so the old name is lifted in JSON mode only. The API validates
        its (parsed) bodies in Python mode, so HTTP callers must use the new name (the API is not public yet)."""
        if info.mode == "json" and isinstance(data, dict) and OLD_CONSUMPTION_NAME in data:
            data = {MONTHLY_CONSUMPTION_NAME if k == OLD_CONSUMPTION_NAME else k: v for k, v in data.items()}
        return data


class WinterSupportDecision(Strict):
    decision: Literal["approve", "reject"]
    reason: str | None = Field(None, max_length=1000)


class MinimalSupplyRestoreRequest(Strict):
    """The customer asks, through the OCMW, to switch minimal supply back on (the rule before 2022-07-01: once the
    set share of the debt at the switch-off is repaid)."""

    note: str | None = Field(None, max_length=500, examples=["Half of the debt is repaid; the customer asks"])


class CloseEnergyCase(Strict):
    reason: EnergyCloseReason
    note: str | None = Field(None, max_length=1000)


# ---- workflow state ---------------------------------------------------------------------------------------


class GasInvoice(BaseModel):
    invoice_id: str
    amount: Decimal | None = None
    due_on: date
    paid: bool = False
    prepayment_requested: bool = False
    rule_set_id: str | None = Field(None, description="The rule set in force on the due date.")
    prepayment_after_unpaid_days: int | None = Field(
        None, description="Days unpaid after the due date until prepayment; None: the notice's rule set's.")


class Lac(BaseModel):
    requested_on: date
    hearing_on: date
    advice: LacAdviceKind | None = None
    advice_on: date | None = None


class Disconnection(BaseModel):
    kind: Literal["disconnect", "switch_off_minimal_supply"]
    deferred_until: date | None = None
    scheduled_on: date | None = None


class WinterSupport(BaseModel):
    status: Literal["applied", "approved", "rejected", "ended"]
    applied_on: date
    winter_start_year: int
    heating: str
    average_monthly_winter_consumption_eur: Decimal = Field(
        validation_alias=AliasChoices(MONTHLY_CONSUMPTION_NAME, OLD_CONSUMPTION_NAME))  # old: state carried before
    topup_amount: Decimal | None = None
    topups: list[date] = []
    loaded_total: Decimal = Decimal("0.00")
    ends_on: date | None = None
    reimbursement_claimed: Decimal | None = None


class EnergyCaseState(BaseModel):
    case_id: str
    ocmw_id: str
    ean: str
    energy: Energy
    supplier: str
    netbeheerder: str
    municipality_nis: str
    phase: Phase
    closing_reason: EnergyClosingReason | None = None
    rule_set_id: str
    notice_of_default_on: date
    notice_period_ends_on: date
    contract_ended_on: date | None = None
    took_over_on: date | None = None
    prepayment_requested_on: date | None = None
    prepayment_active: bool = False
    emergency_credit: Decimal | None = None
    emergency_credit_index_set: bool | None = Field(
        None, description="false: the year's index factor was not set, so the unindexed base was granted; "
                          "null: a fixed amount (or not recorded).")
    emergency_credit_note: str | None = Field(None, examples=["index not set for 2026: …"])
    minimal_supply: Literal["normal", "minimal", "off"] | None = None
    total_debt: Decimal | None = None
    debt_reported_on: date | None = None
    debt_rule_set_id: str | None = Field(
        None, description="The rule set in force on the day of the latest debt report (its minimal-supply restore "
                          "rule applies).")
    debt_at_switch_off: Decimal | None = Field(
        None, description="The total debt when minimal supply was last switched off (the last report before it, or "
                          "the first after it): the base of the repaid share.")
    invoices: list[GasInvoice] = []
    lac: Lac | None = None
    disconnection: Disconnection | None = None
    disconnected_on: date | None = None
    winter_support: WinterSupport | None = None
    deadlines: list[Deadline] = []


class EnergyCaseInput(BaseModel):
    """Start input: the case, and the rule book the API validated the opening with; on continue-as-new also the
    state, the stream version and the callbacks already seen."""

    case_id: str
    ocmw_id: str
    ean: str
    energy: Energy
    supplier: str
    netbeheerder: str
    municipality_nis: str
    notice_of_default_on: date
    callback_url: str
    state: EnergyCaseState | None = None
    book: EnergyRuleBook | None = None
    stream_version: int = 0
    seen_event_ids: list[str] = []
    request_seq: int = 0
    debt_happened_at: datetime | None = None  # when the debt report applied last happened (a later-arriving
    # older one is not applied)
    early_payments: dict[str, date] = {}  # invoice_paid for an invoice not issued yet: its id, the day reported
