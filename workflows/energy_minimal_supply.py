"""The OCMW's request to switch minimal supply back on (the restore rule before 2022-07-01).

Minimal electricity supply switched off on the LAC's advice comes back under the restore rule of the rule set in
force on the day of the latest debt report (domain.md §2): from 2022-07-01 by itself once the total debt is below
the threshold (``EnergyCase.maybe_restore_minimal_supply``); before, only on the customer's request once the set
share of the debt is repaid. This module is that request. The repaid share is measured against the total debt
reported at the switch-off (``EnergyCaseState.debt_at_switch_off``; ``repaid_share``). Under the automatic rule a
request is refused with its own error type, so the API answers with a stable code and says that no request is
needed. The checks read only the state and the book: validators may not ask the workflow for its patches.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.common import StepResult
    from schemas.energy import EnergyCaseState, MinimalSupplyRestoreRequest
    from schemas.energy_events import MinimalSupplyRestored
    from schemas.energy_rules import EnergyRuleBook, EnergyRuleSet, energy_rule_set_by_id, repaid_share

from workflows.common import invalid, out_of_order, today
from workflows.energy_phases import allows
from workflows.energy_procedure import EnergyCase

RESTORE_IS_AUTOMATIC = "RestoreIsAutomatic"  # the error type the API maps to its code minimal_supply_restore_automatic


def restore_is_automatic(rules: EnergyRuleSet, reported_on: str) -> ApplicationError:
    """The refusal under a rule set that restores by itself (409, code ``minimal_supply_restore_automatic``)."""
    threshold = rules.minimal_supply_restore_threshold_eur
    return ApplicationError(
        f"Minimale levering komt automatisch terug zodra de totale schuld lager is dan {threshold} euro "
        f"(regelset {rules.id}, van kracht op de dag van de laatste schuldmelding, {reported_on}); een aanvraag is "
        f"niet nodig. / Minimal supply is switched back on automatically once the total debt is below {threshold} "
        f"euro (rule set {rules.id}, in force on the day of the latest debt report, {reported_on}); no request is "
        "needed.",
        type=RESTORE_IS_AUTOMATIC, non_retryable=True)


def _restore_rules(s: EnergyCaseState, book: EnergyRuleBook) -> EnergyRuleSet:
    return energy_rule_set_by_id(book, s.debt_rule_set_id or s.rule_set_id)


def check_restore_request(s: EnergyCaseState, book: EnergyRuleBook, cmd: MinimalSupplyRestoreRequest) -> None:
    if not allows(s.phase, "minimal_supply_restore_request"):
        raise out_of_order(f"Minimal supply is restored while the netbeheerder supplies; phase is '{s.phase}'.")
    if s.minimal_supply != "off" or s.disconnected_on is not None:
        raise out_of_order("Minimal supply is not switched off on this case; there is nothing to restore.")
    if s.total_debt is None or s.debt_reported_on is None:
        raise invalid("The netbeheerder has not reported the customer's debt yet; the repaid share is measured "
                      "against it.")
    rules = _restore_rules(s, book)
    if rules.restores_automatically:
        raise restore_is_automatic(rules, s.debt_reported_on.isoformat())
    required = rules.minimal_supply_restore_repaid_share
    assert required is not None  # guaranteed by the rule set's validation
    if s.total_debt == 0:
        return
    base = s.debt_at_switch_off
    if base is None or base <= 0:
        raise invalid("No debt was reported at the switch-off; the repaid share cannot be measured.")
    share = repaid_share(base, s.total_debt)
    if share < required:
        raise invalid(f"{share:.2%} of the debt at the switch-off ({base} euro) is repaid (latest debt "
                      f"{s.total_debt} euro, reported {s.debt_reported_on}); rule set {rules.id} needs "
                      f"{required:.0%}.")


async def restore_request(case: EnergyCase, cmd: MinimalSupplyRestoreRequest) -> StepResult:
    """Accepted: minimal supply is switched back on, recording the share repaid and the rule set applied."""
    s = case.s
    if s.minimal_supply != "off" or s.total_debt is None:  # restored by a debt report since the check
        return StepResult(status=s.phase, message="Minimal supply is already switched back on.")
    rules = _restore_rules(s, case.b)
    base = s.debt_at_switch_off
    share = repaid_share(base, s.total_debt) if base is not None and base > 0 else None
    await case.restore_minimal_supply(MinimalSupplyRestored(
        total_debt=s.total_debt, on=today(), rule_set_id=rules.id, on_request=True, debt_at_switch_off=base,
        repaid_share=share))
    shown = "" if share is None else f" ({share:.2%} of {base} euro repaid)"
    return StepResult(status=s.phase, message=f"Minimal supply is switched back on{shown}.")
