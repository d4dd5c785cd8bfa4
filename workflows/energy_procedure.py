"""An energy case's carried memory and the steps of its procedure, shared by the callbacks, the OCMW steps and the
calendar.

``EnergyCase`` holds everything a run must hand to the next one on continue-as-new (the state, the rule book, the
stream version, the callbacks seen and the request counter) and ``carry`` returns exactly that. Each step records
its events and asks the netbeheerder to act; phase changes go through ``energy_phases``.
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


class EnergyCase:
    """The case as the workflow knows it; ``on_change`` is called after each recorded step (it wakes the loop)."""

    def __init__(self, inp: EnergyCaseInput, on_change: Callable[[], None]) -> None:
        self.inp = inp
        self.writer = StreamWriter(inp.case_id, inp.case_id, "energy", inp.ocmw_id, inp.stream_version)
        self.book: EnergyRuleBook | None = inp.book
        self.state: EnergyCaseState | None = inp.state
        self.seen: deque[str] = deque(inp.seen_event_ids, maxlen=SEEN_KEPT)
        self.request_seq = inp.request_seq
        self._on_change = on_change

    def carry(self) -> EnergyCaseInput:
        """The input of the next run: this one's input with everything the case remembers."""
        return self.inp.model_copy(update={
            "state": self.s, "book": self.book, "stream_version": self.writer.version,
            "seen_event_ids": list(self.seen), "request_seq": self.request_seq,
        })

    @property
    def s(self) -> EnergyCaseState:
        assert self.state is not None
        return self.state

    @property
    def rules(self) -> EnergyRuleSet:
        """The rule set in force on the notice of default."""
        return select_energy_rule_set(self.b, self.s.notice_of_default_on)

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
        await self.emit(SocialSupplierTookOver(on=on, inferred=inferred))
        if s.energy == "electricity" and self.rules.electricity_prepayment_at_takeover:
            await self.request_prepayment("takeover")

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
                                               index_set=credit.index_set, index_factor=credit.index_factor))

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

    async def maybe_restore_minimal_supply(self) -> None:
        s = self.s
        if s.minimal_supply != "off" or s.total_debt is None or s.disconnected_on is not None:
            return
        if minimal_supply_may_be_restored(self.rules, s.total_debt):
            s.minimal_supply = "normal"
            threshold = self.rules.minimal_supply_restore_threshold_eur
            await self.emit(MinimalSupplyRestored(total_debt=s.total_debt, on=today(), threshold=threshold))
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
