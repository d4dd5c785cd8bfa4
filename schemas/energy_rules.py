"""The energy-arrears rules (social public service obligations of the Energiebesluit) as dated data.

Every period, amount, share, day count and seasonal window of domain.md §2 lives in a rule book that an operator
can correct or extend in a JSON file without a code change, each value with its source and, for Vangnet's own
decisions (⚑), an assumption note. This module validates such a book and applies it. It is imported inside
Temporal workflows, so it stays pure: stdlib, pydantic and ``schemas.money`` only (``schemas.fbu_rules`` is of
the same kind), no I/O, no settings, no time zones and no clock.

Three kinds of dating are used, each matching the text it comes from:

* a rule set (notice period, prepayment terms, minimal supply) is chosen by the date of the case's starting
  event, the notice of default (``select_energy_rule_set``);
* the emergency credit is chosen by the day it is granted (``emergency_credit``);
* the seasonal windows (winter ban, heating support) recur every year on fixed month-days; a window version
  applies to the winters starting on or after its ``valid_from``.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.common import Fraction, Frozen, NoRuleSetError
from schemas.dated import check_contiguous, check_until, covers, select_covering
from schemas.money import PositiveEuro, round_cents

EnergyCarrier = Literal["electricity", "gas"]
HeatingKind = Literal["gas", "electric_night_tariff"]
CreditUnit = Literal["kwh", "eur"]
RestoreRule = Literal["half_repaid_on_request", "debt_below_threshold"]

# A cumulative index factor applied to a base amount ("1.0432" is +4.32% on the base); always positive.
IndexFactor = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=6, examples=["1.0432"])]
Month = Annotated[int, Field(ge=1, le=12)]
DayOfMonth = Annotated[int, Field(ge=1, le=31)]

WINTER_BAN = "winter_ban"
HEATING_SUPPORT_APPLICATION = "heating_support_application"
REQUIRED_WINDOWS = (WINTER_BAN, HEATING_SUPPORT_APPLICATION)

_LEAP_YEAR = 2000  # used only to check that a month-day exists at all (29 February does in a leap year)
_COMMON_YEAR = 2001  # used to check that a start month-day exists in every year


class NoEnergyRuleSetError(NoRuleSetError):
    """No energy rule set (or credit period) covers the date; the operator must extend the book.

    A subclass of the FBU ``NoRuleSetError`` so that callers handling "no rules for that date" in general catch
    both, while energy code can tell them apart.
    """


class NoEuroCreditError(ValueError):
    """The emergency credit asked for falls before credit was granted in euro (it was counted in kWh)."""



# ---- the rule sets --------------------------------------------------------------------------------------------


class EnergyRuleSet(Frozen):
    """One dated version of the procedure, chosen by the date of the notice of default.

    ``valid_from`` and ``valid_until`` are inclusive; ``valid_until`` None means open-ended.
    """

    id: str = Field(min_length=1, max_length=64, examples=["energy-2022-07"])
    valid_from: date
    valid_until: date | None = None
    source: str = Field(min_length=1, description="The seed lines and decisions these values come from.")
    assumptions: tuple[str, ...] = Field(
        default=(), description="Which values are Vangnet decisions (⚑) rather than stated by the sources."
    )
    registered_letter_required: bool = Field(description="Whether the notice of default must be registered.")
    notice_period_days: int = Field(
        gt=0, description="Days from the notice of default until the supplier may end the contract."
    )
    gas_prepayment_after_unpaid_days: int = Field(
        gt=0, description="Days after the due date of an unpaid social-supplier gas invoice until prepayment."
    )
    electricity_prepayment_at_takeover: bool = Field(
        description="Whether the electricity prepayment function is activated as soon as the netbeheerder takes over."
    )
    emergency_credit_unit: CreditUnit
    minimal_supply_restore_rule: RestoreRule
    minimal_supply_restore_threshold_eur: PositiveEuro | None = Field(
        default=None, description="Minimal supply is switched back on when the total debt is strictly below this."
    )
    minimal_supply_restore_repaid_share: Fraction | None = Field(
        default=None, description="Minimal supply may be switched back on, on request, once this share is repaid."
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> EnergyRuleSet:
        check_until(f"rule set {self.id}", self.valid_from, self.valid_until)
        if self.minimal_supply_restore_rule == "debt_below_threshold":
            if self.minimal_supply_restore_threshold_eur is None:
                raise ValueError(
                    f"rule set {self.id}: minimal_supply_restore_rule 'debt_below_threshold' needs "
                    "minimal_supply_restore_threshold_eur"
                )
            if self.minimal_supply_restore_repaid_share is not None:
                raise ValueError(
                    f"rule set {self.id}: minimal_supply_restore_repaid_share must be null under "
                    "'debt_below_threshold'"
                )
        else:
            if self.minimal_supply_restore_repaid_share is None:
                raise ValueError(
                    f"rule set {self.id}: minimal_supply_restore_rule 'half_repaid_on_request' needs "
                    "minimal_supply_restore_repaid_share"
                )
            if self.minimal_supply_restore_threshold_eur is not None:
                raise ValueError(
                    f"rule set {self.id}: minimal_supply_restore_threshold_eur must be null under "
                    "'half_repaid_on_request'"
                )
        return self

    def covers(self, on: date) -> bool:
        """Whether a notice of default sent on ``on`` falls under this set (both ends inclusive)."""
        return covers(self, on)


# ---- emergency credit ---------------------------------------------------------------------------------------


class EmergencyCreditPeriod(Frozen):
    """The emergency credit in euro granted on days from ``valid_from`` to ``valid_until`` (inclusive).

    With ``indexed`` the amounts are base amounts, multiplied by the ``credit_index`` factor of the year.
    """

    valid_from: date
    valid_until: date | None = None
    electricity_eur: PositiveEuro
    gas_eur: PositiveEuro
    indexed: bool = False
    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_dates(self) -> EmergencyCreditPeriod:
        check_until(f"emergency credit period from {self.valid_from}", self.valid_from, self.valid_until)
        return self

    def name(self) -> str:
        return f"emergency credit period from {self.valid_from.isoformat()}"


class CreditIndex(Frozen):
    """The cumulative factor applied to the indexed base emergency credit during one calendar year."""

    year: int = Field(ge=2000, le=2200)
    factor: IndexFactor
    source: str = Field(min_length=1)


# ---- seasonal windows ---------------------------------------------------------------------------------------


class SeasonalWindow(Frozen):
    """A window that recurs every year from one month-day to another, both inclusive.

    A window whose end month-day comes before its start month-day runs over New Year (1 December to end of
    February). ``end_day`` 29 in February means the end of February: 29 February in leap years, 28 otherwise;
    any other end day must exist in its month. The window applies to the occurrences (winters) starting on or
    after ``valid_from``; a later version with the same ``id`` takes over for the winters starting on or after
    its own ``valid_from``.
    """

    id: str = Field(min_length=1, max_length=64, examples=[WINTER_BAN])
    start_month: Month
    start_day: DayOfMonth
    end_month: Month
    end_day: DayOfMonth
    valid_from: date
    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_days(self) -> SeasonalWindow:
        if self.start_day > calendar.monthrange(_COMMON_YEAR, self.start_month)[1]:
            raise ValueError(
                f"window {self.id}: start {self.start_month:02d}-{self.start_day:02d} does not exist every year"
            )
        if self.end_day > calendar.monthrange(_LEAP_YEAR, self.end_month)[1]:
            raise ValueError(f"window {self.id}: end {self.end_month:02d}-{self.end_day:02d} does not exist")
        return self

    @property
    def wraps_year(self) -> bool:
        """Whether the window runs over New Year (its end month-day is before its start month-day)."""
        return (self.end_month, self.end_day) < (self.start_month, self.start_day)

    def occurrence(self, start_year: int) -> tuple[date, date] | None:
        """First and last day of the occurrence starting in ``start_year``; None if before ``valid_from``."""
        start = date(start_year, self.start_month, self.start_day)
        if start < self.valid_from:
            return None
        end_year = start_year + 1 if self.wraps_year else start_year
        last_day = min(self.end_day, calendar.monthrange(end_year, self.end_month)[1])
        return start, date(end_year, self.end_month, last_day)


def _containing(occurrences: Sequence[tuple[date, date] | None], on: date) -> tuple[date, date] | None:
    for occurrence in occurrences:
        if occurrence is not None and occurrence[0] <= on <= occurrence[1]:
            return occurrence
    return None


def in_window(window: SeasonalWindow, on: date) -> bool:
    """Whether ``on`` lies inside an occurrence of this one window version (ignoring later versions)."""
    return _containing([window.occurrence(on.year - 1), window.occurrence(on.year)], on) is not None


def window_end(window: SeasonalWindow, on: date) -> date:
    """The last day of the occurrence of ``window`` that contains ``on``; ValueError if ``on`` is outside."""
    occurrence = _containing([window.occurrence(on.year - 1), window.occurrence(on.year)], on)
    if occurrence is None:
        raise ValueError(f"{on.isoformat()} is not inside window {window.id}")
    return occurrence[1]


def next_window_start(window: SeasonalWindow, on: date) -> date:
    """The first day on or after ``on`` on which an occurrence of ``window`` starts."""
    for year in range(on.year, max(on.year, window.valid_from.year) + 2):
        occurrence = window.occurrence(year)
        if occurrence is not None and occurrence[0] >= on:
            return occurrence[0]
    raise AssertionError("unreachable: a window recurs every year from its valid_from")  # pragma: no cover


# ---- winter heating support ---------------------------------------------------------------------------------


class ReimbursementRate(Frozen):
    """The share of the loaded top-ups the energy fund reimburses the OCMW for one winter."""

    winter_start_year: int = Field(ge=2000, le=2200, description="2022 is the winter 2022-2023.")
    rate: Fraction
    source: str = Field(min_length=1)


class WinterSupportRules(Frozen):
    """Winter heating support (VR 2022-10-19): top-ups the OCMW loads on a prepayment meter, and its refund."""

    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()
    topup_share: Fraction = Field(description="Share of the average monthly winter consumption, per month.")
    topup_days_of_month: tuple[Annotated[int, Field(ge=1, le=28)], ...] = Field(
        min_length=1, description="The days of each month on which the half-monthly top-up is loaded."
    )
    reimbursement_rates: tuple[ReimbursementRate, ...] = ()
    default_reimbursement_rate: Fraction
    default_reimbursement_source: str = Field(min_length=1)
    eligible_heating: tuple[HeatingKind, ...] = Field(min_length=1)
    electric_night_tariff_eligible_from: date = Field(
        description="Electric heating on exclusive night tariff qualifies for applications from this day."
    )

    @model_validator(mode="after")
    def _check_lists(self) -> WinterSupportRules:
        if list(self.topup_days_of_month) != sorted(set(self.topup_days_of_month)):
            raise ValueError("topup_days_of_month must be sorted without repeats")
        for previous, following in pairwise(self.reimbursement_rates):
            if following.winter_start_year <= previous.winter_start_year:
                raise ValueError(
                    "reimbursement_rates must be sorted by winter_start_year without repeats: "
                    f"{following.winter_start_year} comes after {previous.winter_start_year}"
                )
        if len(set(self.eligible_heating)) != len(self.eligible_heating):
            raise ValueError("eligible_heating lists a kind of heating twice")
        return self


# ---- the book -----------------------------------------------------------------------------------------------


class EnergyRuleBook(Frozen):
    """All energy rule sets, credit periods, index factors, seasonal windows and winter support, validated whole.

    Rule sets and credit periods each follow each other without overlap or gap (only the last may be
    open-ended); euro credit periods start exactly when the first rule set counting credit in euro starts.
    """

    description: str | None = None
    rule_sets: tuple[EnergyRuleSet, ...] = Field(min_length=1)
    emergency_credit_periods: tuple[EmergencyCreditPeriod, ...] = Field(min_length=1)
    credit_index: tuple[CreditIndex, ...] = ()
    seasonal_windows: tuple[SeasonalWindow, ...] = Field(min_length=1)
    winter_support: WinterSupportRules

    @model_validator(mode="after")
    def _check_book(self) -> EnergyRuleBook:
        ids = [rule_set.id for rule_set in self.rule_sets]
        duplicates = sorted({rule_set_id for rule_set_id in ids if ids.count(rule_set_id) > 1})
        if duplicates:
            raise ValueError(f"rule set ids must be unique; repeated: {', '.join(duplicates)}")
        check_contiguous(self.rule_sets, [f"rule set {i}" for i in ids], "rule sets")
        periods = self.emergency_credit_periods
        check_contiguous(periods, [p.name() for p in periods], "emergency_credit_periods")
        euro_from = periods[0].valid_from
        for rule_set in self.rule_sets:
            if rule_set.emergency_credit_unit == "kwh" and (
                rule_set.valid_until is None or rule_set.valid_until >= euro_from
            ):
                raise ValueError(
                    f"rule set {rule_set.id} counts emergency credit in kWh but the euro credit periods start "
                    f"{euro_from}; it must end before that"
                )
        first_euro = next((s for s in self.rule_sets if s.emergency_credit_unit == "eur"), None)
        if first_euro is not None and first_euro.valid_from != euro_from:
            raise ValueError(
                f"the emergency credit periods start {euro_from} but the first rule set in euro, "
                f"{first_euro.id}, starts {first_euro.valid_from}; they must start together"
            )
        for previous_index, following_index in pairwise(self.credit_index):
            if following_index.year <= previous_index.year:
                raise ValueError(
                    "credit_index must be sorted by year without repeats: "
                    f"{following_index.year} comes after {previous_index.year}"
                )
        window_ids = {window.id for window in self.seasonal_windows}
        missing = [window_id for window_id in REQUIRED_WINDOWS if window_id not in window_ids]
        if missing:
            raise ValueError(f"seasonal_windows lacks {', '.join(missing)}")
        for window_id in sorted(window_ids):
            versions = self.window_versions(window_id)
            for previous_window, following_window in pairwise(versions):
                if following_window.valid_from <= previous_window.valid_from:
                    raise ValueError(
                        f"versions of window {window_id} must be sorted by valid_from without repeats: "
                        f"{following_window.valid_from} comes after {previous_window.valid_from}"
                    )
        return self

    def window_versions(self, window_id: str) -> tuple[SeasonalWindow, ...]:
        """Every version of one window, oldest first."""
        return tuple(window for window in self.seasonal_windows if window.id == window_id)


def select_energy_rule_set(book: EnergyRuleBook, on: date) -> EnergyRuleSet:
    """The rule set covering a notice of default sent on ``on``; the book's validation guarantees at most one."""
    return select_covering(book.rule_sets, on, what="energy rule set",
                           subject=f"a notice of default on {on.isoformat()}", error=NoEnergyRuleSetError)


def minimal_supply_may_be_restored(
    rule_set: EnergyRuleSet, total_debt: Decimal, repaid_share: Decimal | None = None
) -> bool:
    """Whether minimal electricity supply switched off on LAC advice may be switched back on.

    Under ``debt_below_threshold`` (from 2022-07-01) this is automatic once the total debt is strictly below the
    threshold: 150.00 is not enough, 149.99 is. Under ``half_repaid_on_request`` (before) it happens only on the
    customer's request once at least the set share of the debt is repaid; ``repaid_share`` is that repaid share
    (0.5 is half), and without it the answer is False unless the debt is fully paid, so that automatic checks
    never restore supply under the old rule.
    """
    if total_debt < 0:
        raise ValueError("total_debt must not be negative")
    if rule_set.minimal_supply_restore_rule == "debt_below_threshold":
        threshold = rule_set.minimal_supply_restore_threshold_eur
        assert threshold is not None  # guaranteed by the rule set's validation
        return total_debt < threshold
    required = rule_set.minimal_supply_restore_repaid_share
    assert required is not None  # guaranteed by the rule set's validation
    if total_debt == 0:
        return True
    if repaid_share is None:
        return False
    if not 0 <= repaid_share <= 1:
        raise ValueError("repaid_share must lie between 0 and 1")
    return repaid_share >= required


def credit_index_factor(book: EnergyRuleBook, year: int) -> Decimal:
    """The index factor of ``year``; the latest earlier year's if not yet entered; 1 if none is known."""
    known = [index for index in book.credit_index if index.year <= year]
    return known[-1].factor if known else Decimal(1)


def emergency_credit(book: EnergyRuleBook, energy: EnergyCarrier, on: date) -> Decimal:
    """The emergency credit in euro granted on ``on`` for electricity or gas, rounded half-up to the cent.

    For an indexed period the base amount is multiplied by the index factor of ``on.year``.
    """
    periods = book.emergency_credit_periods
    if on < periods[0].valid_from:
        raise NoEuroCreditError(
            f"Emergency credit granted on {on.isoformat()} was counted in kWh, not in euro: euro amounts apply "
            f"from {periods[0].valid_from.isoformat()}."
        )
    period = next((p for p in periods if covers(p, on)), None)
    if period is None:
        last = periods[-1]
        raise NoEnergyRuleSetError(
            f"No emergency credit period covers {on.isoformat()}: the last one ended "
            f"{last.valid_until.isoformat() if last.valid_until else '?'}; the operator must add a period."
        )
    amount = period.electricity_eur if energy == "electricity" else period.gas_eur
    if period.indexed:
        amount = amount * credit_index_factor(book, on.year)
    return round_cents(amount)


# ---- seasonal windows in the book ---------------------------------------------------------------------------


def _governing(book: EnergyRuleBook, window_id: str, start_year: int) -> SeasonalWindow | None:
    """The newest version of a window whose occurrence starting in ``start_year`` is on/after its valid_from."""
    versions = book.window_versions(window_id)
    if not versions:
        raise KeyError(f"the rule book has no seasonal window {window_id!r}")
    for window in reversed(versions):
        if window.occurrence(start_year) is not None:
            return window
    return None


def _occurrence(book: EnergyRuleBook, window_id: str, start_year: int) -> tuple[date, date] | None:
    window = _governing(book, window_id, start_year)
    return window.occurrence(start_year) if window is not None else None


def _book_containing(book: EnergyRuleBook, window_id: str, on: date) -> tuple[date, date] | None:
    return _containing([_occurrence(book, window_id, on.year - 1), _occurrence(book, window_id, on.year)], on)


def in_seasonal_window(book: EnergyRuleBook, window_id: str, on: date) -> bool:
    """Whether ``on`` lies inside the window ``window_id`` in force for its winter."""
    return _book_containing(book, window_id, on) is not None


def seasonal_window_end(book: EnergyRuleBook, window_id: str, on: date) -> date:
    """The last day of the occurrence of ``window_id`` containing ``on``; ValueError if ``on`` is outside."""
    occurrence = _book_containing(book, window_id, on)
    if occurrence is None:
        raise ValueError(f"{on.isoformat()} is not inside the {window_id} window")
    return occurrence[1]


def next_seasonal_window_start(book: EnergyRuleBook, window_id: str, on: date) -> date:
    """The first day on or after ``on`` on which an occurrence of ``window_id`` starts."""
    versions = book.window_versions(window_id)
    if not versions:
        raise KeyError(f"the rule book has no seasonal window {window_id!r}")
    latest = max(window.valid_from.year for window in versions)
    for year in range(on.year, max(on.year, latest) + 2):
        occurrence = _occurrence(book, window_id, year)
        if occurrence is not None and occurrence[0] >= on:
            return occurrence[0]
    raise AssertionError("unreachable: the newest window version recurs every year")  # pragma: no cover


def in_winter_ban(book: EnergyRuleBook, on: date) -> bool:
    """Whether ``on`` falls in the winter ban on disconnections."""
    return in_seasonal_window(book, WINTER_BAN, on)


def winter_ban_ends(book: EnergyRuleBook, on: date) -> date:
    """The first day after the winter ban containing ``on``: when a deferred disconnection may be carried out.

    ValueError if ``on`` is not in the ban. Should a next occurrence follow without a free day, the answer is
    the first day outside both.
    """
    day = seasonal_window_end(book, WINTER_BAN, on) + timedelta(days=1)
    while in_winter_ban(book, day):
        day = seasonal_window_end(book, WINTER_BAN, day) + timedelta(days=1)
    return day


def heating_support_open(book: EnergyRuleBook, on: date) -> bool:
    """Whether winter heating support can be applied for on ``on`` (1 November to 31 March)."""
    return in_seasonal_window(book, HEATING_SUPPORT_APPLICATION, on)


def heating_support_ends(book: EnergyRuleBook, on: date) -> date:
    """The last day (inclusive) of the heating-support window containing ``on``; ValueError if it is closed."""
    return seasonal_window_end(book, HEATING_SUPPORT_APPLICATION, on)


def next_heating_support_start(book: EnergyRuleBook, on: date) -> date:
    """The first day on or after ``on`` on which the heating-support window opens."""
    return next_seasonal_window_start(book, HEATING_SUPPORT_APPLICATION, on)


# ---- winter heating support amounts ---------------------------------------------------------------------------


def half_monthly_topup(book: EnergyRuleBook, average_monthly_winter_consumption_eur: Decimal) -> Decimal:
    """The amount of one half-monthly top-up: average monthly winter consumption × share / 2, to the cent.

    ⚑ The sources say the half-monthly top-ups are "worth 60% of the average winter consumption". Vangnet reads
    that as 60% of the household's average monthly winter consumption per month, loaded in two halves, so each
    top-up is half of 60% of a month (an average of 200.00 a month gives top-ups of 60.00).
    """
    if average_monthly_winter_consumption_eur < 0:
        raise ValueError("average_monthly_winter_consumption_eur must not be negative")
    return round_cents(average_monthly_winter_consumption_eur * book.winter_support.topup_share / 2)


def reimbursement_rate(book: EnergyRuleBook, winter_start_year: int) -> Decimal:
    """The share of the top-ups the energy fund refunds the OCMW for the winter starting in that year."""
    for entry in book.winter_support.reimbursement_rates:
        if entry.winter_start_year == winter_start_year:
            return entry.rate
    return book.winter_support.default_reimbursement_rate


def heating_eligible(book: EnergyRuleBook, heating: HeatingKind, on: date) -> bool:
    """Whether a household heating this way qualifies for winter heating support when applying on ``on``."""
    support = book.winter_support
    if heating not in support.eligible_heating:
        return False
    return heating != "electric_night_tariff" or on >= support.electric_night_tariff_eligible_from
