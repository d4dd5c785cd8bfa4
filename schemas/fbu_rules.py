"""The FBU payout and process rules as dated data, and the pure functions that apply them.

Every amount, percentage, cap, period and date of the fund lives in a rule set that an operator can correct
or extend in a JSON file without a code change (domain.md §1); this module only knows how to validate such a
book, pick the set in force on a date and apply it. It is imported inside Temporal workflows, so it stays
pure: stdlib, pydantic and ``schemas.money`` only, no I/O, no settings, no time zones and no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.common import Fraction, Frozen, NoRuleSetError
from schemas.dated import covers, select_covering
from schemas.money import Euro, PositiveEuro, round_cents

# A fraction in [0, 1] ("0.45" is 45%). Kept as Decimal so the percentages stay exact.
# A number of months of rent (the 2020 sets' 2 to 6 month bounds); never negative.
Months = Annotated[Decimal, Field(ge=0, examples=["2"])]
RentalMarket = Literal["private", "svk", "social"]

_MONTHS_QUANTUM = Decimal("0.01")




class FbuRuleSet(Frozen):
    """One dated version of the fund's rules, chosen by the date the signed agreement is submitted.

    ``valid_from`` and ``valid_until`` are inclusive; ``valid_until`` None means open-ended. A cap of None
    means the tranche has no cap. Arrears month bounds of None mean no minimum or maximum.
    """

    id: str = Field(min_length=1, max_length=64, examples=["fbu-2022"])
    valid_from: date
    valid_until: date | None = None
    source: str = Field(min_length=1, description="The seed lines and decisions these values come from.")
    assumptions: tuple[str, ...] = Field(
        default=(), description="Which values are Vangnet decisions (⚑) rather than stated by the sources."
    )
    forfait: PositiveEuro
    tranche_1_pct: Fraction
    tranche_1_cap: PositiveEuro | None = None
    tranche_2_pct: Fraction
    tranche_2_cap: PositiveEuro | None = None
    arrears_months_min: Months | None = None
    arrears_months_max: Months | None = None
    svk_eligible: bool
    arrears_since_earliest: date
    agreement_amendable: bool = Field(
        description="From 2022 the OCMW may amend agreement and plan (modulable)."
    )
    signature_deadline_days: int = Field(gt=0)
    breach_grace_days: int = Field(ge=0)
    stable_housing_kept_months: int = Field(gt=0)
    landlord_payment_working_days: int = Field(gt=0)
    landlord_payment_pct: Fraction

    @model_validator(mode="after")
    def _check_consistency(self) -> FbuRuleSet:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(
                f"rule set {self.id}: valid_until {self.valid_until} is before valid_from {self.valid_from}"
            )
        if (
            self.arrears_months_min is not None
            and self.arrears_months_max is not None
            and self.arrears_months_min > self.arrears_months_max
        ):
            raise ValueError(
                f"rule set {self.id}: arrears_months_min {self.arrears_months_min} is above "
                f"arrears_months_max {self.arrears_months_max}"
            )
        return self

    def covers(self, on: date) -> bool:
        """Whether an agreement submitted on ``on`` falls under this set (both ends inclusive)."""
        return covers(self, on)

    def period_text(self) -> str:
        """The submission period in words, for messages shown to case workers."""
        if self.valid_until is None:
            return f"submitted from {self.valid_from.isoformat()}"
        return f"submitted from {self.valid_from.isoformat()} to {self.valid_until.isoformat()}"


class LandlordPaymentCap(Frozen):
    """The indexed maximum of the OCMW's payment to the landlord, from ``valid_from`` until the next cap."""

    valid_from: date
    cap: PositiveEuro
    source: str = Field(min_length=1)


class FbuRuleBook(Frozen):
    """All FBU rule sets and the landlord-payment caps, validated as a whole when loaded.

    The sets must follow each other without overlap and without a gap, so that every submission date from the
    first set on has exactly one answer; only the last set may be open-ended.
    """

    description: str | None = None
    rule_sets: tuple[FbuRuleSet, ...] = Field(min_length=1)
    landlord_payment_caps: tuple[LandlordPaymentCap, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_book(self) -> FbuRuleBook:
        ids = [rule_set.id for rule_set in self.rule_sets]
        duplicates = sorted({rule_set_id for rule_set_id in ids if ids.count(rule_set_id) > 1})
        if duplicates:
            raise ValueError(f"rule set ids must be unique; repeated: {', '.join(duplicates)}")
        for previous, following in pairwise(self.rule_sets):
            if following.valid_from <= previous.valid_from:
                raise ValueError(
                    f"rule sets must be sorted by valid_from: {following.id} ({following.valid_from}) comes "
                    f"after {previous.id} ({previous.valid_from})"
                )
            if previous.valid_until is None:
                raise ValueError(
                    f"rule set {previous.id} is open-ended (valid_until null) but {following.id} follows it; "
                    "only the last rule set may be open-ended"
                )
            if following.valid_from <= previous.valid_until:
                raise ValueError(
                    f"rule sets {previous.id} and {following.id} overlap: {previous.id} runs until "
                    f"{previous.valid_until}, {following.id} starts {following.valid_from}"
                )
            if following.valid_from != previous.valid_until + timedelta(days=1):
                first_missing = previous.valid_until + timedelta(days=1)
                last_missing = following.valid_from - timedelta(days=1)
                raise ValueError(
                    f"gap between rule sets {previous.id} and {following.id}: no rule set covers "
                    f"{first_missing} to {last_missing}"
                )
        caps = self.landlord_payment_caps
        for previous_cap, following_cap in pairwise(caps):
            if following_cap.valid_from <= previous_cap.valid_from:
                raise ValueError(
                    "landlord_payment_caps must be sorted by valid_from without repeats: "
                    f"{following_cap.valid_from} comes after {previous_cap.valid_from}"
                )
        if caps[0].valid_from > self.rule_sets[0].valid_from:
            raise ValueError(
                f"the first landlord payment cap starts {caps[0].valid_from}, after the first rule set "
                f"{self.rule_sets[0].id} ({self.rule_sets[0].valid_from}); every covered date needs a cap"
            )
        return self


class Eligibility(Frozen):
    """Whether a case may be opened under a rule set, and if not, every reason in plain language."""

    rule_set_id: str
    eligible: bool
    reasons: list[str] = Field(default_factory=list)
    arrears_months: Decimal = Field(description="Arrears divided by the monthly rent, rounded half-up.")


class PayoutAmounts(Frozen):
    """What the fund pays the OCMW for one case under one rule set."""

    rule_set_id: str
    forfait: PositiveEuro
    tranche_1: Euro
    tranche_2: Euro
    total: PositiveEuro


def select_rule_set(book: FbuRuleBook, on: date) -> FbuRuleSet:
    """The rule set that covers a submission date; the book's validation guarantees at most one."""
    return select_covering(book.rule_sets, on, what="FBU rule set", subject=on.isoformat(), error=NoRuleSetError,
                           first_label="the fund's first rule set")


def _number_text(value: Decimal) -> str:
    """'2' rather than '2.00' for bounds taken from the data, without exponent notation."""
    return format(value.normalize(), "f")


def _months_text(months: Decimal, exact: Decimal, bound: Decimal) -> str:
    """The arrears in months with two decimals, or four when two would hide that a bound is missed.

    1,599.99 euro at a rent of 800 is 1.99998 months: "2.00 months" would contradict the refusal, so the text
    says 1.9999, truncated away from the bound so it can never show the bound itself.
    """
    if months != bound:
        return str(months)
    rounding = ROUND_DOWN if exact < bound else ROUND_UP
    return str(exact.quantize(Decimal("0.0001"), rounding=rounding))


def _months_reason(rule_set: FbuRuleSet, months: Decimal, exact: Decimal) -> str | None:
    low, high = rule_set.arrears_months_min, rule_set.arrears_months_max
    too_low = low is not None and exact < low
    too_high = high is not None and exact > high
    if not (too_low or too_high):
        return None
    bound = low if too_low else high
    assert bound is not None
    shown = _months_text(months, exact, bound)
    if low is not None and high is not None:
        rule = f"between {_number_text(low)} and {_number_text(high)} months of rent"
    elif low is not None:
        rule = f"at least {_number_text(low)} months of rent"
    else:
        assert high is not None
        rule = f"at most {_number_text(high)} months of rent"
    return f"Under rule set {rule_set.id} the arrears must be {rule}; these arrears are {shown} months."


def _first_svk_set(later: Iterable[FbuRuleSet]) -> FbuRuleSet | None:
    return next((rule_set for rule_set in later if rule_set.svk_eligible), None)


def rent_free_reasons(
    rule_set: FbuRuleSet,
    *,
    market: RentalMarket,
    arrears_since: date,
    book: FbuRuleBook | None = None,
) -> list[str]:
    """The eligibility rules of one set that need no rent: rental market (social housing, SVK) and arrears date."""
    reasons: list[str] = []
    if market == "social":
        reasons.append("Social housing (SHM) tenants are not covered by the fund.")
    elif market == "svk" and not rule_set.svk_eligible:
        later = [s for s in book.rule_sets if s.valid_from > rule_set.valid_from] if book is not None else []
        svk_set = _first_svk_set(later)
        if svk_set is not None:
            reasons.append(
                "Tenants of a social rental agency (SVK) are covered only from rule set "
                f"{svk_set.id} ({svk_set.period_text()})."
            )
        else:
            reasons.append(
                f"Tenants of a social rental agency (SVK) are not covered by rule set {rule_set.id} "
                f"({rule_set.period_text()})."
            )
    if arrears_since < rule_set.arrears_since_earliest:
        reasons.append(
            f"The arrears must have arisen on or after {rule_set.arrears_since_earliest.isoformat()}."
        )
    return reasons


def rent_checks(rule_set: FbuRuleSet) -> list[str]:
    """The checks of a set that need the monthly rent, in words (empty when the set bounds no arrears months)."""
    low, high = rule_set.arrears_months_min, rule_set.arrears_months_max
    if low is None and high is None:
        return []
    if low is not None and high is not None:
        bound = f"between {_number_text(low)} and {_number_text(high)} months of rent"
    elif low is not None:
        bound = f"at least {_number_text(low)} months of rent"
    else:
        assert high is not None
        bound = f"at most {_number_text(high)} months of rent"
    return [f"Under rule set {rule_set.id} the arrears must be {bound}."]


def check_eligibility(
    rule_set: FbuRuleSet,
    *,
    market: RentalMarket,
    arrears_amount: Decimal,
    arrears_since: date,
    monthly_rent: Decimal,
    book: FbuRuleBook | None = None,
) -> Eligibility:
    """Apply the eligibility rules of one set and collect every reason for refusal.

    All reasons are returned, not just the first, so the social worker sees at once everything that stands in
    the way. The 2-to-6-month bounds are inclusive and compared on the exact ratio (2 months means arrears of
    at least twice the rent), not on the rounded number shown. ``book`` is optional: when given, the SVK
    reason names the first later rule set that does cover SVK tenants.
    """
    if monthly_rent <= 0:
        raise ValueError("monthly_rent must be positive")
    if arrears_amount < 0:
        raise ValueError("arrears_amount must not be negative")
    exact = arrears_amount / monthly_rent
    months = exact.quantize(_MONTHS_QUANTUM, rounding=ROUND_HALF_UP)
    reasons = rent_free_reasons(rule_set, market=market, arrears_since=arrears_since, book=book)
    months_reason = _months_reason(rule_set, months, exact)
    if months_reason is not None:
        reasons.append(months_reason)
    return Eligibility(rule_set_id=rule_set.id, eligible=not reasons, reasons=reasons, arrears_months=months)


def provisional_note(later: FbuRuleSet) -> str:
    """Why a case ineligible under the opening day's set is still opened: a later set, chosen by the submission
    day, would cover it. The answer at opening is provisional (domain.md §1)."""
    return (f"Provisional: under rule set {later.id} ({later.period_text()}) these arrears would be covered; "
            "the rule set of the day the signed agreement is submitted decides.")


def first_eligible_later(
    book: FbuRuleBook,
    rule_set: FbuRuleSet,
    *,
    market: RentalMarket,
    arrears_amount: Decimal,
    arrears_since: date,
    monthly_rent: Decimal,
) -> FbuRuleSet | None:
    """The first set after ``rule_set`` under which the case would be eligible (a later submission may fall in it)."""
    for later in (s for s in book.rule_sets if s.valid_from > rule_set.valid_from):
        if check_eligibility(later, market=market, arrears_amount=arrears_amount, arrears_since=arrears_since,
                             monthly_rent=monthly_rent).eligible:
            return later
    return None


def tranche_amount(arrears_amount: Decimal, pct: Decimal, cap: Decimal | None) -> Decimal:
    """One tranche: the percentage of the arrears rounded half-up to the cent first, then capped.

    Rounding before capping is the order the rules state; it matters exactly at the cap (fbu-2022: arrears of
    2,633.33 give 1,184.9985, which rounds to the 1,185.00 cap).
    """
    if arrears_amount < 0:
        raise ValueError("arrears_amount must not be negative")
    amount = round_cents(arrears_amount * pct)
    if cap is not None and amount > cap:
        amount = cap
    return round_cents(amount)


def compute_payouts(rule_set: FbuRuleSet, arrears_amount: Decimal) -> PayoutAmounts:
    """Forfait and both tranches the fund pays the OCMW for arrears of ``arrears_amount``."""
    tranche_1 = tranche_amount(arrears_amount, rule_set.tranche_1_pct, rule_set.tranche_1_cap)
    tranche_2 = tranche_amount(arrears_amount, rule_set.tranche_2_pct, rule_set.tranche_2_cap)
    forfait = round_cents(rule_set.forfait)
    return PayoutAmounts(
        rule_set_id=rule_set.id,
        forfait=forfait,
        tranche_1=tranche_1,
        tranche_2=tranche_2,
        total=forfait + tranche_1 + tranche_2,
    )


def landlord_payment_cap_on(book: FbuRuleBook, on: date) -> LandlordPaymentCap:
    """The landlord-payment cap in force on a date: the latest one whose ``valid_from`` is not after it."""
    in_force = [cap for cap in book.landlord_payment_caps if cap.valid_from <= on]
    if not in_force:
        first = book.landlord_payment_caps[0]
        raise NoRuleSetError(
            f"No landlord payment cap covers {on.isoformat()}: "
            f"the first starts {first.valid_from.isoformat()}."
        )
    return in_force[-1]


def landlord_payment_guideline(
    book: FbuRuleBook, rule_set: FbuRuleSet, arrears_amount: Decimal, on: date
) -> Decimal:
    """The amount the OCMW is advised to pay the landlord on signing: a share of the arrears, capped.

    Only a proposal (⚑ public guidance): the OCMW may agree another amount, which the agreement records. The
    cap is the one in force on ``on`` (the signing date), since the caps are indexed by calendar year, not by
    rule set.
    """
    cap = landlord_payment_cap_on(book, on).cap
    return tranche_amount(arrears_amount, rule_set.landlord_payment_pct, cap)
