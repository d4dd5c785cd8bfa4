"""The OCMW's steps on an energy case: what the supplier did, prepayment on request, the LAC, winter heating
support and closing. ``check_*`` refuse a step before it is accepted (the API answers 409 or 422 with the message);
the phase a step needs comes from ``energy_phases``. The steps themselves run under the workflow's lock.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.common import StepResult
    from schemas.energy import (
        CloseEnergyCase,
        Disconnection,
        EnergyCaseState,
        Lac,
        LacAdvice,
        LacRequest,
        PrepaymentRequest,
        SupplierEvent,
        SupplierEventType,
        WinterSupport,
        WinterSupportApplication,
        WinterSupportDecision,
    )
    from schemas.energy_events import (
        DisconnectionDeferred,
        LacAdviceGiven,
        LacRequested,
        SupplierEventRecorded,
        WinterSupportApplied,
        WinterSupportApproved,
        WinterSupportRejected,
    )
    from schemas.energy_rules import (
        EnergyRuleBook,
        half_monthly_topup,
        heating_eligible,
        heating_support_ends,
        heating_support_open,
        winter_ban_ends,
        winter_ban_in_force,
    )

from workflows.common import invalid, out_of_order, read_book, today
from workflows.contracts import load_energy_rule_book
from workflows.energy_phases import allows
from workflows.energy_procedure import EnergyCase

# The LAC's advice reads the operator's rule book again before it checks the winter ban: the book the case opened
# with may predate an extension of this winter's ban. Its own patch id, because runs that gave the advice before
# this rule may still meet ``WINTER_BAN_REREAD`` (``energy_calendar``) later, and a patch's answer holds for a run.
WINTER_BAN_REREAD_AT_ADVICE = "winter-ban-reread-at-advice"


def supplier_trigger(event: SupplierEventType) -> str:
    """The phase trigger of a supplier event (the others are named as the event)."""
    return "supplier_ended_contract" if event == "contract_ended" else event


# ---- notice period: what the supplier did ------------------------------------------------------------------


def check_supplier_event(s: EnergyCaseState, cmd: SupplierEvent) -> None:
    if cmd.on > today():
        raise invalid(f"The date {cmd.on} lies in the future.")
    if cmd.on < s.notice_of_default_on:
        raise invalid(f"The date {cmd.on} is before the notice of default ({s.notice_of_default_on}).")
    if not allows(s.phase, supplier_trigger(cmd.type)):
        raise out_of_order(f"The supplier's contract already ended; the case is in phase '{s.phase}'.")


async def supplier_event(case: EnergyCase, cmd: SupplierEvent) -> StepResult:
    s = case.s
    if cmd.type == "contract_ended":
        await case.contract_ended(cmd.on, "supplier_ended_contract")
        return StepResult(status=s.phase, message="Contract ended; the netbeheerder is asked to take over.")
    await case.emit(SupplierEventRecorded(type=cmd.type, on=cmd.on))
    await case.close(cmd.type, cmd.type, {"on": cmd.on})
    return StepResult(status=s.phase, message=f"Case closed: {cmd.type.replace('_', ' ')}.")


# ---- social supplier: prepayment on the customer's request --------------------------------------------------


def check_request_prepayment(s: EnergyCaseState, cmd: PrepaymentRequest) -> None:
    if not allows(s.phase, "request_prepayment"):
        raise out_of_order(f"Prepayment can be requested once the netbeheerder supplies; phase is '{s.phase}'.")
    if s.prepayment_requested_on is not None:
        raise out_of_order(f"Prepayment activation was already requested on {s.prepayment_requested_on}.")


async def request_prepayment(case: EnergyCase, cmd: PrepaymentRequest) -> StepResult:
    await case.request_prepayment("customer_request", **({"note": cmd.note} if cmd.note else {}))
    return StepResult(status=case.s.phase, message="Prepayment activation requested from the netbeheerder.")


# ---- follow-up: the LAC and the winter ban -----------------------------------------------------------------


def check_lac_request(s: EnergyCaseState, cmd: LacRequest) -> None:
    if not allows(s.phase, "lac_request"):
        raise out_of_order(f"The LAC is asked once the netbeheerder supplies; phase is '{s.phase}'.")
    if cmd.hearing_on < today():
        raise invalid(f"The hearing date {cmd.hearing_on} lies in the past.")
    if s.lac is not None and s.lac.advice is None:
        raise out_of_order(f"A LAC hearing is already planned on {s.lac.hearing_on}.")


async def lac_request(case: EnergyCase, cmd: LacRequest) -> StepResult:
    on = today()
    case.s.lac = Lac(requested_on=on, hearing_on=cmd.hearing_on)
    case.s.disconnection = None
    await case.emit(LacRequested(requested_on=on, hearing_on=cmd.hearing_on))
    return StepResult(status=case.s.phase, message=f"LAC hearing set for {cmd.hearing_on}.")


def check_lac_advice(s: EnergyCaseState, cmd: LacAdvice) -> None:
    if not allows(s.phase, "lac_advice") or s.lac is None or s.lac.advice is not None:
        raise out_of_order("There is no LAC request waiting for advice.")
    if cmd.on > today():
        raise invalid(f"The advice date {cmd.on} lies in the future.")
    if cmd.on < s.lac.requested_on:
        raise invalid(f"The advice date {cmd.on} is before the LAC was asked ({s.lac.requested_on}).")
    if cmd.advice == "switch_off_minimal_supply" and s.energy != "electricity":
        raise invalid("Minimal supply exists only for electricity.")


async def lac_advice(case: EnergyCase, cmd: LacAdvice) -> StepResult:
    """The LAC's advice; a disconnection it advises during the winter ban waits for the ban's end."""
    if workflow.patched(WINTER_BAN_REREAD_AT_ADVICE):
        case.book = await read_book(load_energy_rule_book)
    s, book = case.s, case.b
    assert s.lac is not None
    s.lac.advice, s.lac.advice_on = cmd.advice, cmd.on
    await case.emit(LacAdviceGiven(advice=cmd.advice, on=cmd.on))
    if cmd.advice == "refuse":
        return StepResult(status=s.phase, message="The LAC refused: nothing is switched off.")
    s.disconnection = Disconnection(kind=cmd.advice)
    on = today()
    ban = winter_ban_in_force(book, on)
    if ban is not None:
        until_day = winter_ban_ends(book, on)
        s.disconnection.deferred_until = until_day
        await case.emit(DisconnectionDeferred(kind=cmd.advice, until=until_day, reason="winter_ban",
                                              window_id=ban.id, source=ban.source))
        return StepResult(status=s.phase, message=f"Winter ban: the advice is carried out on {until_day}.")
    await case.schedule_disconnection(on)
    return StepResult(status=s.phase, message="The advice is passed to the netbeheerder.")


# ---- follow-up: winter heating support ---------------------------------------------------------------------


def check_winter_support_apply(s: EnergyCaseState, book: EnergyRuleBook, cmd: WinterSupportApplication) -> None:
    on = today()
    if not allows(s.phase, "winter_support_apply"):  # prepayment: the only phase with an active prepayment meter
        raise out_of_order("Winter heating support is for households on a prepayment meter.")
    if not heating_support_open(book, on):
        raise out_of_order(f"Winter heating support can be applied for from 1 November to 31 March, not on {on}.")
    if cmd.heating == "gas" and s.energy != "gas":
        raise invalid("Gas heating support belongs on the gas case of the household.")
    if not heating_eligible(book, cmd.heating, on):
        raise invalid(f"Heating by {cmd.heating.replace('_', ' ')} does not qualify on {on}.")
    if s.winter_support is not None and s.winter_support.status in ("applied", "approved"):
        raise out_of_order("Winter heating support was already applied for this winter.")


async def winter_support_apply(case: EnergyCase, cmd: WinterSupportApplication) -> StepResult:
    on = today()
    start_year = on.year if on.month >= 7 else on.year - 1
    case.s.winter_support = WinterSupport(
        status="applied", applied_on=on, winter_start_year=start_year, heating=cmd.heating,
        average_monthly_winter_consumption_eur=cmd.average_monthly_winter_consumption_eur)
    await case.emit(WinterSupportApplied(
        heating=cmd.heating, on=on,
        average_monthly_winter_consumption_eur=cmd.average_monthly_winter_consumption_eur))
    return StepResult(status=case.s.phase, message="Winter heating support applied for; waiting for a decision.")


def check_winter_support_decision(s: EnergyCaseState, cmd: WinterSupportDecision) -> None:
    ws = s.winter_support
    if not allows(s.phase, "winter_support_decision") or ws is None or ws.status != "applied":
        raise out_of_order("There is no winter heating support application waiting for a decision.")
    if cmd.decision == "reject" and not (cmd.reason and len(cmd.reason) >= 3):
        raise invalid("A rejection needs a reason.")


async def winter_support_decision(case: EnergyCase, cmd: WinterSupportDecision) -> StepResult:
    """Approval sets the half-monthly top-up until the end of the winter applied for and loads the first."""
    ws, book = case.s.winter_support, case.b
    assert ws is not None
    on = today()
    if cmd.decision == "reject":
        ws.status = "rejected"
        await case.emit(WinterSupportRejected(on=on, reason=cmd.reason))
        return StepResult(status=case.s.phase, message="Winter heating support rejected.")
    ws.status = "approved"
    ws.topup_amount = half_monthly_topup(book, ws.average_monthly_winter_consumption_eur)
    ws.ends_on = heating_support_ends(book, ws.applied_on)  # the winter it was applied for
    await case.emit(WinterSupportApproved(on=on, topup_amount=ws.topup_amount, until=ws.ends_on))
    await case.load_topup(on)
    return StepResult(status=case.s.phase, message=f"Approved: {ws.topup_amount} per half month until {ws.ends_on}.")


# ---- closing -----------------------------------------------------------------------------------------------


async def close(case: EnergyCase, cmd: CloseEnergyCase) -> StepResult:
    await case.close("close", cmd.reason, {"note": cmd.note} if cmd.note else {})
    return StepResult(status="closed", message=f"Case closed: {cmd.reason.replace('_', ' ')}.")
