"""Energy rule sets: the dated versions of the procedure, how one is chosen, and when minimal supply comes back.

An energy case lives for years across rule changes, so each legal effect applies the rule set in force on the day
of the fact that triggers it (domain.md §2, "Which rule applies"), not the rule set of the day the case began: the
notice period and the registered letter by the date of the notice of default; the gas prepayment term by the
unpaid invoice's due date; electricity prepayment by the takeover date; emergency credit by the day it is granted;
the minimal-supply restore rule by the day the debt is reported. ``select_energy_rule_set`` answers for any such
day. Split from ``schemas.energy_rules`` (which re-exports every name) so that each kind of dated rule
reads on its own; pure like the rest of ``schemas``: it runs inside Temporal workflows.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Literal, Protocol

from pydantic import Field, model_validator

from schemas.common import Fraction, Frozen, NoRuleSetError
from schemas.dated import check_until, covers, select_covering
from schemas.money import PositiveEuro

CreditUnit = Literal["kwh", "eur"]
RestoreRule = Literal["half_repaid_on_request", "debt_below_threshold"]


class NoEnergyRuleSetError(NoRuleSetError):
    """No energy rule set (or credit period) covers the date; the operator must extend the book.

    A subclass of the FBU ``NoRuleSetError`` so that callers handling "no rules for that date" in general catch
    both, while energy code can tell them apart.
    """



class EnergyRuleSet(Frozen):
    """One dated version of the procedure; each effect uses the version in force on the day of its fact.

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

    @property
    def restores_automatically(self) -> bool:
        """Whether minimal supply comes back by itself when the debt is low enough (no request is needed)."""
        return self.minimal_supply_restore_rule == "debt_below_threshold"

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
        """Whether a fact on ``on`` (a notice, a takeover, a due date, a debt report) falls under this set (both
        ends inclusive)."""
        return covers(self, on)



class HasRuleSets(Protocol):
    """What this module reads of a rule book (its rule sets); ``EnergyRuleBook`` has it.

    A Protocol rather than the book itself, because the book (``schemas.energy_rules``) is built from this module's
    models and importing it here would make a cycle.
    """

    @property
    def rule_sets(self) -> tuple[EnergyRuleSet, ...]: ...


def select_energy_rule_set(book: HasRuleSets, on: date, fact: str = "a notice of default") -> EnergyRuleSet:
    """The rule set in force on ``on``, the day of ``fact`` (named in the error when no set covers that day); the
    book's validation guarantees at most one."""
    return select_covering(book.rule_sets, on, what="energy rule set",
                           subject=f"{fact} on {on.isoformat()}", error=NoEnergyRuleSetError)


def energy_rule_set_by_id(book: HasRuleSets, rule_set_id: str) -> EnergyRuleSet:
    """The book's rule set with this id (a case records the ids of the sets it applied)."""
    for rule_set in book.rule_sets:
        if rule_set.id == rule_set_id:
            return rule_set
    raise NoEnergyRuleSetError(f"The energy rule book has no rule set '{rule_set_id}'.")


SHARE_PLACES = Decimal("0.0001")


def repaid_share(debt_at_switch_off: Decimal, total_debt: Decimal) -> Decimal:
    """The share of the debt at the switch-off that is repaid now: ``(at switch-off - now) / at switch-off``,
    rounded down to 4 places (so it never shows more than is repaid), 0 when the debt grew, 1 when it is paid.

    ⚑ Vangnet's reading of "50% van de schuld afbetaald": the base is the total debt the netbeheerder reported at the
    switch-off (the last report before it, or the first after it), and the repaid part is how much lower the latest
    reported total debt is.
    """
    if debt_at_switch_off <= 0:
        raise ValueError("the debt at the switch-off must be positive to compute a repaid share")
    if total_debt < 0:
        raise ValueError("total_debt must not be negative")
    share = ((debt_at_switch_off - total_debt) / debt_at_switch_off).quantize(SHARE_PLACES, rounding=ROUND_DOWN)
    return min(max(share, Decimal(0)), Decimal(1))


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

