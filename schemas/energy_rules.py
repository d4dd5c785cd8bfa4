"""The energy-arrears rules (social public service obligations of the Energiebesluit) as dated data.

Every period, amount, share, day count and seasonal window of domain.md §2 lives in a rule book that an operator
can correct or extend in a JSON file without a code change, each value with its source and, for Vangnet's own
decisions (⚑), an assumption note. This module validates such a book as a whole (``EnergyRuleBook``) and is where
callers import the rules from; the parts and the rules that apply them live in one module per kind of dating, and
every name is re-exported here. It is imported inside Temporal workflows, so it stays pure: stdlib, pydantic and
other ``schemas`` modules only (``schemas.fbu_rules`` is of the same kind), no I/O, no settings, no time zones and
no clock.

Three kinds of dating are used, each matching the text it comes from:

* a rule set (notice period, prepayment terms, minimal supply) is chosen, for each effect, by the day of the fact
  that triggers it: the notice of default, the takeover, an unpaid invoice's due date, the day credit is granted,
  the day debt is reported (``select_energy_rule_set``; ``schemas.energy_rule_sets``);
* the emergency credit is chosen by the day it is granted (``emergency_credit``; ``schemas.energy_credit``);
* the seasonal windows (winter ban, heating support) recur every year on fixed month-days; a window version
  applies to the winters starting on or after its ``valid_from``, and a winter with its own dated window (an
  extension of the ban, with its source) has that one instead (``schemas.energy_seasons``). The amounts and
  conditions of winter heating support are in ``schemas.energy_winter_support``.
"""

from __future__ import annotations

from itertools import pairwise

from pydantic import Field, model_validator

from schemas.common import Frozen
from schemas.dated import check_contiguous
from schemas.energy_credit import (
    CreditIndex,
    EmergencyCredit,
    EmergencyCreditPeriod,
    EnergyCarrier,
    IndexFactor,
    NoEuroCreditError,
    credit_index_factor,
    credit_index_years_not_set,
    emergency_credit,
    index_not_set_note,
)
from schemas.energy_rule_sets import (
    CreditUnit,
    EnergyRuleSet,
    NoEnergyRuleSetError,
    RestoreRule,
    energy_rule_set_by_id,
    minimal_supply_may_be_restored,
    repaid_share,
    select_energy_rule_set,
)
from schemas.energy_seasons import (
    HEATING_SUPPORT_APPLICATION,
    REQUIRED_WINDOWS,
    WINTER_BAN,
    DayOfMonth,
    Month,
    SeasonalWindow,
    WindowInForce,
    WinterWindow,
    check_winter_windows,
    heating_support_ends,
    heating_support_open,
    in_seasonal_window,
    in_window,
    in_winter_ban,
    next_heating_support_start,
    next_seasonal_window_start,
    next_window_start,
    seasonal_window_end,
    window_end,
    window_in_force,
    window_of_winter,
    winter_ban_ends,
    winter_ban_in_force,
    winter_name,
)
from schemas.energy_winter_support import (
    HeatingKind,
    ReimbursementRate,
    WinterSupportRules,
    half_monthly_topup,
    heating_eligible,
    reimbursement_amount,
    reimbursement_rate,
)

__all__ = [
    "HEATING_SUPPORT_APPLICATION",
    "REQUIRED_WINDOWS",
    "WINTER_BAN",
    "CreditIndex",
    "CreditUnit",
    "DayOfMonth",
    "EmergencyCredit",
    "EmergencyCreditPeriod",
    "EnergyCarrier",
    "EnergyRuleBook",
    "EnergyRuleSet",
    "HeatingKind",
    "IndexFactor",
    "Month",
    "NoEnergyRuleSetError",
    "NoEuroCreditError",
    "ReimbursementRate",
    "RestoreRule",
    "SeasonalWindow",
    "WindowInForce",
    "WinterSupportRules",
    "WinterWindow",
    "credit_index_factor",
    "credit_index_years_not_set",
    "emergency_credit",
    "energy_rule_set_by_id",
    "half_monthly_topup",
    "heating_eligible",
    "heating_support_ends",
    "heating_support_open",
    "in_seasonal_window",
    "in_window",
    "in_winter_ban",
    "index_not_set_note",
    "minimal_supply_may_be_restored",
    "next_heating_support_start",
    "next_seasonal_window_start",
    "next_window_start",
    "reimbursement_amount",
    "reimbursement_rate",
    "repaid_share",
    "seasonal_window_end",
    "select_energy_rule_set",
    "window_end",
    "window_in_force",
    "window_of_winter",
    "winter_ban_ends",
    "winter_ban_in_force",
    "winter_name",
]


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
    winter_windows: tuple[WinterWindow, ...] = ()
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
        check_winter_windows(self, self.winter_windows, window_ids)
        return self

    def window_versions(self, window_id: str) -> tuple[SeasonalWindow, ...]:
        """Every version of one window, oldest first."""
        return tuple(window for window in self.seasonal_windows if window.id == window_id)

    def winter_windows_of(self, window_id: str) -> tuple[WinterWindow, ...]:
        """The winters with their own dated window ``window_id``, in file order (validated: by winter)."""
        return tuple(entry for entry in self.winter_windows if entry.window == window_id)
