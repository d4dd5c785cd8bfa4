"""An energy case's carried memory and the steps of its procedure, shared by the callbacks, the OCMW steps and the
calendar.

``EnergyCase`` holds everything a run must hand to the next one on continue-as-new (the state, the rule book, the
stream version, the callbacks seen, the request counter and the out-of-order facts held: when the debt applied
happened, payments of invoices not issued yet) and ``carry`` returns exactly that. Each step records
its events and asks the netbeheerder to act; phase changes go through ``energy_phases``.

Which rule applies: each effect applies the rule set in force on the day of the fact that triggers it
(``rules_for``): the notice period by the notice of default, electricity prepayment by the takeover date, the gas
prepayment term by the invoice's due date, emergency credit by the day it is granted, the restore rule by the day
the debt is reported. Runs that started before this rule keep the notice's rule set (``RULE_SET_PER_EFFECT``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.energy import EnergyCaseInput, EnergyCaseState, EnergyClosingReason
    from schemas.energy_events import (
        ContractEnded,
        DefaultNoticeSent,
        DisconnectionScheduled,
        EmergencyCreditGranted,
        MinimalSupplyRestored,
        NoticePeriodStarted,
        PrepaymentActivated,
        PrepaymentActivationRequested,
        ReimbursementClaimed,
        SocialSupplierTookOver,
        TopUpRequested,
    )
    from schemas.energy_rules import (
        EnergyRuleBook,
        EnergyRuleSet,
        emergency_credit,
        energy_rule_set_by_id,
        minimal_supply_may_be_restored,
        reimbursement_amount,
        reimbursement_rate,
        select_energy_rule_set,
    )
    from schemas.events import CaseClosed, EventData, StreamWriter
    from schemas.netbeheerder import NetbeheerderRequest

from workflows.common import HTTP_RETRY, emit, read_book, today, v2
from workflows.contracts import load_energy_rule_book, netbeheerder_request
from workflows.energy_phases import enter, opening_phase

SEEN_KEPT = 500  # callback ids remembered across continue-as-new (the API's table is the durable dedupe)
# Each effect applies the rule set in force on the day of its fact; runs recorded before applied the notice's rule
# set to everything, and replay as they ran (the patch marker).
RULE_SET_PER_EFFECT = "energy-rule-set-per-effect"


def per_effect() -> bool:
    """Whether this run applies the rule set per effect (see ``RULE_SET_PER_EFFECT``). Not in queries or
    validators (read-only): what they need is in the state (``debt_rule_set_id``, an invoice's term)."""
    return workflow.patched(RULE_SET_PER_EFFECT)


class EnergyCase:
    """The case as the workflow knows it; ``on_change`` is called after each recorded step (it wakes the loop)."""

    def __init__(self, inp: EnergyCaseInput, on_change: Callable[[], None]) -> None:
        self.inp = inp
        self.writer = StreamWriter(inp.case_id, inp.case_id, "energy", inp.ocmw_id, inp.stream_version)
        self.book: EnergyRuleBook | None = inp.book
        self.state: EnergyCaseState | None = inp.state
        self.seen: deque[str] = deque(inp.seen_event_ids, maxlen=SEEN_KEPT)
        self.request_seq = inp.request_seq
        self.debt_happened_at = inp.debt_happened_at
        self.early_payments = dict(inp.early_payments)
        self._on_change = on_change

    def carry(self) -> EnergyCaseInput:
        """The input of the next run: this one's input with everything the case remembers."""
        return self.inp.model_copy(update={
            "state": self.s, "book": self.book, "stream_version": self.writer.version,
            "seen_event_ids": list(self.seen), "request_seq": self.request_seq,
            "debt_happened_at": self.debt_happened_at, "early_payments": dict(self.early_payments),
        })

    @property
    def s(self) -> EnergyCaseState:
        assert self.state is not None
        return self.state

    @property
    def rules(self) -> EnergyRuleSet:
        """The rule set in force on the notice of default (notice period, registered letter)."""
        return select_energy_rule_set(self.b, self.s.notice_of_default_on)

    def rules_for(self, on: date) -> EnergyRuleSet:
        """The rule set for an effect whose fact happened on ``on``: the one in force that day (a day after a
        closed-ended book's last set keeps that last set); the notice's in runs that started before."""
        if not per_effect():
            return self.rules
        started = [r for r in self.b.rule_sets if r.valid_from <= on]
        if not started:
            return self.rules
        return next((r for r in started if r.covers(on)), max(started, key=lambda r: r.valid_from))

    @property
    def b(self) -> EnergyRuleBook:
        assert self.book is not None
        return self.book

    # ---- notice of default and notice period ------------------------------------------------------------

    async def open(self) -> None:
        inp = self.inp
        if self.book is None:  # the API passes the book it validated the opening with; older starts did not
            self.book = await read_book(load_energy_rule_book)
        rules = select_energy_rule_set(self.book, inp.notice_of_default_on)
        ends = inp.notice_of_default_on + timedelta(days=rules.notice_period_days)
        self.state = EnergyCaseState(
            case_id=inp.case_id, ocmw_id=inp.ocmw_id, ean=inp.ean, energy=inp.energy, supplier=inp.supplier,
            netbeheerder=inp.netbeheerder, municipality_nis=inp.municipality_nis, phase=opening_phase(),
            rule_set_id=rules.id, notice_of_default_on=inp.notice_of_default_on, notice_period_ends_on=ends,
        )
        await self.emit(
            DefaultNoticeSent(
                energy=inp.energy, supplier=inp.supplier, netbeheerder=inp.netbeheerder,
                municipality_nis=inp.municipality_nis, notice_of_default_on=inp.notice_of_default_on,
                registered_letter_required=rules.registered_letter_required, rule_set_id=rules.id),
            NoticePeriodStarted(days=rules.notice_period_days, ends_on=ends, rule_set_id=rules.id))

    async def contract_ended(self, on: date, why: str) -> None:
        """The supply contract ended (``why`` is the trigger): the netbeheerder is asked to take over."""
        s = self.s
        s.contract_ended_on = on
        enter(s, why)
        await self.emit(ContractEnded(on=on, because=why))
        await self.request("request_takeover", "takeover", {})

    # ---- social supplier and prepayment -----------------------------------------------------------------

    async def took_over(self, on: date, inferred: bool) -> None:
        s = self.s
        if s.phase in ("notice_period",):
            await self.contract_ended(on, "takeover_reported")
        s.took_over_on = on
        enter(s, "takeover_inferred" if inferred else "takeover_confirmed")
        if s.energy != "electricity":
            await self.emit(SocialSupplierTookOver(on=on, inferred=inferred))
            return
        rules = self.rules_for(on)  # electricity prepayment at takeover: the rule of the takeover date
        await self.emit(SocialSupplierTookOver(on=on, inferred=inferred, rule_set_id=rules.id))
        if rules.electricity_prepayment_at_takeover:
            await self.request_prepayment("takeover", rule_set_id=rules.id)

    async def request_prepayment(self, reason: str, **details: Any) -> None:
        s = self.s
        s.prepayment_requested_on = today()
        await self.emit(PrepaymentActivationRequested(reason=reason, requested_on=s.prepayment_requested_on,
                                                      **details))
        await self.request("activate_prepayment", "prepayment", {})

    async def prepayment_activated(self, on: date) -> None:
        """Prepayment runs (a takeover it implies is recorded first) and the emergency credit is granted."""
        s = self.s
        if s.phase in ("notice_period", "awaiting_takeover"):
            await self.took_over(on, inferred=True)
        if s.prepayment_requested_on is None:
            s.prepayment_requested_on = on
        s.prepayment_active = True
        enter(s, "prepayment_activated")
        s.minimal_supply = "normal" if s.energy == "electricity" else None
        await self.emit(PrepaymentActivated(on=on))
        credit = emergency_credit(self.b, s.energy, on)  # the unindexed base, flagged, while the index is not set
        s.emergency_credit, s.emergency_credit_index_set = credit.amount, credit.index_set
        s.emergency_credit_note = credit.note()
        await self.request("grant_emergency_credit", "credit", {"amount": str(credit.amount)})
        await self.emit(EmergencyCreditGranted(amount=credit.amount, unit="eur", on=on, indexed=credit.indexed,
                                               index_set=credit.index_set, index_factor=credit.index_factor,
                                               rule_set_id=self.rules_for(on).id))

    # ---- follow-up: LAC advice carried out, minimal supply, heating support ------------------------------

    async def schedule_disconnection(self, on: date) -> None:
        s = self.s
        assert s.disconnection is not None
        s.disconnection.scheduled_on = on
        kind = s.disconnection.kind
        await self.emit(DisconnectionScheduled(kind=kind, on=on))
        if kind == "disconnect":
            await self.request("schedule_disconnection", "disconnection", {"on_date": on.isoformat()})
        else:
            await self.request("switch_minimal_supply", "minimal-off", {"on": False})

    def debt_rules(self) -> EnergyRuleSet:
        """The rule set of the latest debt report (its restore rule), as recorded with it; the notice's before."""
        s = self.s
        return self.rules if s.debt_rule_set_id is None else energy_rule_set_by_id(self.b, s.debt_rule_set_id)

    async def maybe_restore_minimal_supply(self) -> None:
        """Minimal supply switched off on LAC advice comes back by itself under the restore rule of the latest debt
        report's day (from 2022-07-01: the debt below the threshold; before: only a debt paid off)."""
        s = self.s
        if s.minimal_supply != "off" or s.total_debt is None or s.disconnected_on is not None:
            return
        rules = self.debt_rules()
        if rules.minimal_supply_restore_threshold_eur is None and s.total_debt == 0 and not per_effect():
            # Runs recorded before failed here (supply marked restored, then the event needed a threshold) and
            # rejected the callback: they replay so.
            s.minimal_supply = "normal"
            raise ValueError("no restore threshold under the rule set of the notice")
        if minimal_supply_may_be_restored(rules, s.total_debt):
            await self.restore_minimal_supply(MinimalSupplyRestored(
                total_debt=s.total_debt, on=today(), threshold=rules.minimal_supply_restore_threshold_eur,
                rule_set_id=rules.id, on_request=False))

    async def restore_minimal_supply(self, restored: MinimalSupplyRestored) -> None:
        self.s.minimal_supply = "normal"
        await self.emit(restored)
        await self.request("switch_minimal_supply", "minimal-on", {"on": True})

    async def load_topup(self, on: date) -> None:
        ws = self.s.winter_support
        assert ws is not None and ws.topup_amount is not None
        ws.topups.append(on)
        if v2():
            await self.emit(TopUpRequested(on=on, amount=ws.topup_amount))
        await self.request("load_topup", f"topup-{on.isoformat()}", {"amount": str(ws.topup_amount)})

    async def claim_reimbursement(self) -> None:
        ws = self.s.winter_support
        assert ws is not None
        rate = reimbursement_rate(self.b, ws.winter_start_year)
        amount = reimbursement_amount(self.b, ws.winter_start_year, ws.loaded_total)  # half-up to the cent
        ws.reimbursement_claimed = amount
        ws.status = "ended"
        await self.emit(ReimbursementClaimed(winter=f"{ws.winter_start_year}-{ws.winter_start_year + 1}",
                                             loaded_total=ws.loaded_total, rate=rate, amount=amount))

    # ---- closing ----------------------------------------------------------------------------------------

    async def close(self, trigger: str, reason: EnergyClosingReason, data: dict[str, Any]) -> None:
        s = self.s
        enter(s, trigger)
        s.closing_reason = reason
        await self.emit(CaseClosed(reason=reason, closed_on=today(), **data))

    # ---- effects ----------------------------------------------------------------------------------------

    async def request(self, kind: str, purpose: str, params: dict[str, Any]) -> None:
        """Ask the netbeheerder to act; the idempotency key makes retries one request."""
        s = self.s
        self.request_seq += 1
        await workflow.execute_activity(
            netbeheerder_request,
            NetbeheerderRequest(
                idempotency_key=f"{s.case_id}:{purpose}:{self.request_seq}", type=kind,
                ean=s.ean, energy=s.energy, netbeheerder=s.netbeheerder, params=params,
                callback_url=self.inp.callback_url,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=HTTP_RETRY,
        )

    async def emit(self, *bodies: EventData) -> None:
        await emit(self.writer, *bodies)
        self._on_change()  # the state changed: the main loop recomputes its next deadline
