"""One energy-arrears case per connection point and energy (domain.md §2).

From the supplier's notice of default through the notice period, the netbeheerder's takeover as social supplier,
prepayment activation and emergency credit, minimal supply, the LAC and the winter ban, to winter heating support.
Callbacks arrive as signals and may come late, twice or out of order: each is applied once (event ids) and a
callback that implies an earlier step records that step first. Years-long cases continue-as-new with their state.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.common import Deadline, StepResult
    from schemas.energy import (
        CloseEnergyCase,
        Disconnection,
        EnergyCaseInput,
        EnergyCaseState,
        EnergyClosingReason,
        GasInvoice,
        Lac,
        LacAdvice,
        LacRequest,
        PrepaymentRequest,
        SupplierEvent,
        WinterSupport,
        WinterSupportApplication,
        WinterSupportDecision,
    )
    from schemas.energy_events import (
        CallbackRejected,
        ContractEnded,
        DebtUpdated,
        DefaultNoticeSent,
        Disconnected,
        DisconnectionDeferred,
        DisconnectionScheduled,
        EmergencyCreditGranted,
        InvoiceIssued,
        InvoicePaid,
        InvoiceUnpaid,
        LacAdviceGiven,
        LacRequested,
        MinimalSupplyActivated,
        MinimalSupplyRestored,
        MinimalSupplySwitchedOff,
        NoticePeriodStarted,
        PrepaymentActivated,
        PrepaymentActivationRequested,
        ReimbursementClaimed,
        SocialSupplierTookOver,
        SupplierEventRecorded,
        TopUpLoaded,
        TopUpRequested,
        WinterSupportApplied,
        WinterSupportApproved,
        WinterSupportRejected,
    )
    from schemas.energy_rules import (
        EnergyRuleBook,
        EnergyRuleSet,
        emergency_credit,
        half_monthly_topup,
        heating_eligible,
        heating_support_ends,
        heating_support_open,
        in_winter_ban,
        minimal_supply_may_be_restored,
        reimbursement_rate,
        select_energy_rule_set,
        winter_ban_ends,
    )
    from schemas.events import CaseClosed, EventData, StreamWriter
    from schemas.netbeheerder import Callback, NetbeheerderRequest

import contextlib

from workflows import energy_deadlines
from workflows.common import HTTP_RETRY, emit, invalid, out_of_order, read_book, today, until, v2
from workflows.contracts import load_energy_rule_book, netbeheerder_request

SEEN_KEPT = 500  # callback ids remembered across continue-as-new (the API's table is the durable dedupe)
MAX_STEPS_PER_RUN = 400  # well below the 2,000-update limit; continue-as-new before


@workflow.defn(name="EnergyCase")
class EnergyCaseWorkflow:
    @workflow.init
    def __init__(self, inp: EnergyCaseInput) -> None:
        self._inp = inp
        self._writer = StreamWriter(inp.case_id, inp.case_id, "energy", inp.ocmw_id, inp.stream_version)
        self._book: EnergyRuleBook | None = inp.book
        self._state: EnergyCaseState | None = inp.state
        self._seen: deque[str] = deque(inp.seen_event_ids, maxlen=SEEN_KEPT)
        self._inbox: list[Callback] = []
        self._request_seq = inp.request_seq
        self._steps = 0
        self._wake = False
        self._opened = inp.state is not None
        self._lock = asyncio.Lock()

    # ---- main loop -------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: EnergyCaseInput) -> EnergyCaseState:
        async with self._lock:
            if self._state is None:
                await self._open()
        while self._s.phase != "closed":
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                async with self._lock:
                    if not self._inbox:
                        workflow.continue_as_new(self._carry())
            wake_on = self._next_deadline()
            wait = until(wake_on) if wake_on is not None else None
            if wait is None or wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._wake or bool(self._inbox), timeout=wait)
            self._wake = False
            async with self._lock:
                while self._inbox and self._s.phase != "closed":
                    await self._apply_callback(self._inbox.pop(0))
                await self._on_time()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._s

    @property
    def _s(self) -> EnergyCaseState:
        assert self._state is not None
        return self._state

    @property
    def _rules(self) -> EnergyRuleSet:
        assert self._book is not None
        return select_energy_rule_set(self._book, self._s.notice_of_default_on)

    def _should_continue_as_new(self) -> bool:
        return workflow.info().is_continue_as_new_suggested() or self._steps >= MAX_STEPS_PER_RUN

    def _carry(self) -> EnergyCaseInput:
        return self._inp.model_copy(update={
            "state": self._s, "book": self._book, "stream_version": self._writer.version,
            "seen_event_ids": list(self._seen), "request_seq": self._request_seq,
        })

    async def _open(self) -> None:
        inp = self._inp
        if self._book is None:  # the API passes the book it validated the opening with; older starts did not
            self._book = await read_book(load_energy_rule_book)
        rules = select_energy_rule_set(self._book, inp.notice_of_default_on)
        ends = inp.notice_of_default_on + timedelta(days=rules.notice_period_days)
        self._state = EnergyCaseState(
            case_id=inp.case_id, ocmw_id=inp.ocmw_id, ean=inp.ean, energy=inp.energy, supplier=inp.supplier,
            netbeheerder=inp.netbeheerder, municipality_nis=inp.municipality_nis, phase="notice_period",
            rule_set_id=rules.id, notice_of_default_on=inp.notice_of_default_on, notice_period_ends_on=ends,
        )
        await self._emit(
            DefaultNoticeSent(
                energy=inp.energy, supplier=inp.supplier, netbeheerder=inp.netbeheerder,
                municipality_nis=inp.municipality_nis, notice_of_default_on=inp.notice_of_default_on,
                registered_letter_required=rules.registered_letter_required, rule_set_id=rules.id),
            NoticePeriodStarted(days=rules.notice_period_days, ends_on=ends, rule_set_id=rules.id))
        self._opened = True

    # ---- time ------------------------------------------------------------------------------------------

    def _due_dates(self) -> list[Deadline]:
        if self._book is None:
            return []
        return energy_deadlines.due_dates(self._s, self._book, today())

    def _next_deadline(self) -> date | None:
        actionable = [d.due_on for d in self._due_dates() if d.kind != "lac_hearing"]
        return min(actionable, default=None)

    async def _on_time(self) -> None:
        s, on = self._s, today()
        if s.phase == "closed":
            return
        if s.phase == "notice_period" and on > s.notice_period_ends_on:
            await self._contract_ended(s.notice_period_ends_on, "notice_period_expired")
        if s.phase == "social_supplier" and not s.prepayment_active and s.prepayment_requested_on is None:
            days = self._rules.gas_prepayment_after_unpaid_days
            overdue = [i for i in s.invoices if not i.paid and on > i.due_on + timedelta(days=days)]
            if overdue:
                await self._request_prepayment("invoice_unpaid", invoice_id=overdue[0].invoice_id,
                                               due_on=overdue[0].due_on, days=days)
        d = s.disconnection
        if d is not None and d.deferred_until is not None and d.scheduled_on is None and on >= d.deferred_until:
            await self._schedule_disconnection(on)
        ws = s.winter_support
        if ws is not None and ws.status == "approved" and ws.ends_on is not None:
            if on > ws.ends_on:
                await self._claim_reimbursement()
            elif on.day in self._book_topup_days() and on not in ws.topups:
                await self._load_topup(on)

    def _book_topup_days(self) -> list[int]:
        assert self._book is not None
        return list(self._book.winter_support.topup_days_of_month)

    # ---- phases ----------------------------------------------------------------------------------------

    async def _contract_ended(self, on: date, why: str) -> None:
        s = self._s
        s.contract_ended_on = on
        s.phase = "awaiting_takeover"
        await self._emit(ContractEnded(on=on, because=why))
        await self._request("request_takeover", "takeover", {})

    async def _took_over(self, on: date, inferred: bool) -> None:
        s = self._s
        if s.phase in ("notice_period",):
            await self._contract_ended(on, "takeover_reported")
        s.took_over_on = on
        s.phase = "social_supplier"
        await self._emit(SocialSupplierTookOver(on=on, inferred=inferred))
        if s.energy == "electricity" and self._rules.electricity_prepayment_at_takeover:
            await self._request_prepayment("takeover")

    async def _request_prepayment(self, reason: str, **details: Any) -> None:
        s = self._s
        s.prepayment_requested_on = today()
        await self._emit(PrepaymentActivationRequested(reason=reason, requested_on=s.prepayment_requested_on,
                                                       **details))
        await self._request("activate_prepayment", "prepayment", {})

    async def _prepayment_activated(self, on: date) -> None:
        s = self._s
        if s.phase in ("notice_period", "awaiting_takeover"):
            await self._took_over(on, inferred=True)
        if s.prepayment_requested_on is None:
            s.prepayment_requested_on = on
        s.prepayment_active = True
        s.phase = "prepayment"
        s.minimal_supply = "normal" if s.energy == "electricity" else None
        await self._emit(PrepaymentActivated(on=on))
        assert self._book is not None
        amount = emergency_credit(self._book, s.energy, on)
        s.emergency_credit = amount
        await self._request("grant_emergency_credit", "credit", {"amount": str(amount)})
        await self._emit(EmergencyCreditGranted(amount=amount, unit="eur", on=on))

    async def _schedule_disconnection(self, on: date) -> None:
        s = self._s
        assert s.disconnection is not None
        s.disconnection.scheduled_on = on
        kind = s.disconnection.kind
        await self._emit(DisconnectionScheduled(kind=kind, on=on))
        if kind == "disconnect":
            await self._request("schedule_disconnection", "disconnection", {"on_date": on.isoformat()})
        else:
            await self._request("switch_minimal_supply", "minimal-off", {"on": False})

    async def _maybe_restore_minimal_supply(self) -> None:
        s = self._s
        if s.minimal_supply != "off" or s.total_debt is None or s.disconnected_on is not None:
            return
        if minimal_supply_may_be_restored(self._rules, s.total_debt):
            s.minimal_supply = "normal"
            threshold = self._rules.minimal_supply_restore_threshold_eur
            await self._emit(MinimalSupplyRestored(total_debt=s.total_debt, on=today(), threshold=threshold))
            await self._request("switch_minimal_supply", "minimal-on", {"on": True})

    async def _load_topup(self, on: date) -> None:
        ws = self._s.winter_support
        assert ws is not None and ws.topup_amount is not None
        ws.topups.append(on)
        if v2():
            await self._emit(TopUpRequested(on=on, amount=ws.topup_amount))
        await self._request("load_topup", f"topup-{on.isoformat()}", {"amount": str(ws.topup_amount)})

    async def _claim_reimbursement(self) -> None:
        ws = self._s.winter_support
        assert ws is not None and self._book is not None
        rate = reimbursement_rate(self._book, ws.winter_start_year)
        amount = (ws.loaded_total * rate).quantize(Decimal("0.01"))
        ws.reimbursement_claimed = amount
        ws.status = "ended"
        await self._emit(ReimbursementClaimed(winter=f"{ws.winter_start_year}-{ws.winter_start_year + 1}",
                                              loaded_total=ws.loaded_total, rate=rate, amount=amount))

    async def _close(self, reason: EnergyClosingReason, data: dict[str, Any]) -> None:
        s = self._s
        s.phase = "closed"
        s.closing_reason = reason
        await self._emit(CaseClosed(reason=reason, closed_on=today(), **data))

    # ---- callbacks -------------------------------------------------------------------------------------

    @workflow.signal(name="netbeheerder_callback")
    def netbeheerder_callback(self, callback: Callback) -> None:
        if callback.event_id in self._seen or any(c.event_id == callback.event_id for c in self._inbox):
            return
        self._inbox.append(callback)

    async def _apply_callback(self, cb: Callback) -> None:
        if cb.event_id in self._seen:
            return
        self._seen.append(cb.event_id)
        self._steps += 1
        try:
            await self._apply_callback_data(cb)
        except (ValueError, ArithmeticError, KeyError) as exc:  # data the signature vouches for but we cannot use
            workflow.logger.warning("callback rejected: %s", type(exc).__name__)
            await self._emit(CallbackRejected(event_id=cb.event_id, callback_type=cb.type,
                                              problem=type(exc).__name__))

    async def _apply_callback_data(self, cb: Callback) -> None:
        # The engine's date is the business date (a callback may be delivered late); the sender's time is kept.
        s, on, data = self._s, today(), cb.data
        if cb.type == "takeover_confirmed":
            if s.took_over_on is None:
                await self._took_over(on, inferred=False)
        elif cb.type == "prepayment_activated":
            if not s.prepayment_active:
                await self._prepayment_activated(on)
        elif cb.type == "invoice_issued":
            issued = InvoiceIssued(invoice_id=str(data.get("invoice_id")), due_on=date.fromisoformat(
                str(data["due_on"])), amount=Decimal(str(data["amount"])) if data.get("amount") else None)
            if s.phase in ("notice_period", "awaiting_takeover"):
                await self._took_over(on, inferred=True)
            if all(i.invoice_id != issued.invoice_id for i in s.invoices):
                s.invoices.append(GasInvoice(invoice_id=issued.invoice_id, due_on=issued.due_on, amount=issued.amount))
                await self._emit(issued)
        elif cb.type == "invoice_paid":
            for inv in s.invoices:
                if inv.invoice_id == str(data.get("invoice_id")) and not inv.paid:
                    inv.paid = True
                    await self._emit(InvoicePaid(invoice_id=inv.invoice_id, on=on))
        elif cb.type == "invoice_unpaid":
            invoice_id = data.get("invoice_id")
            await self._emit(InvoiceUnpaid(invoice_id=None if invoice_id is None else str(invoice_id), on=on))
        elif cb.type == "debt_updated":
            debt = DebtUpdated(total_debt=Decimal(str(data["total_debt"])), on=on)
            s.total_debt = debt.total_debt
            await self._emit(debt)
            await self._maybe_restore_minimal_supply()
            if s.total_debt == 0 and s.phase != "closed":
                await self._close("debt_paid", {})
        elif cb.type == "topup_loaded":
            ws = s.winter_support
            loaded = TopUpLoaded(amount=Decimal(str(data.get("amount", "0"))), on=on, winter_support=ws is not None)
            if ws is not None:
                ws.loaded_total += loaded.amount
            await self._emit(loaded)
        elif cb.type == "minimal_supply_switched":
            switched_on = bool(data.get("on"))
            if switched_on and cb.request_key is None and s.minimal_supply != "minimal":
                s.minimal_supply = "minimal"
                reason = data.get("reason")
                await self._emit(MinimalSupplyActivated(on=on, reason=None if reason is None else str(reason)))
            elif not switched_on and s.minimal_supply != "off":
                s.minimal_supply = "off"
                await self._emit(MinimalSupplySwitchedOff(on=on))
        elif cb.type == "disconnection_done":
            s.disconnected_on = on
            await self._emit(Disconnected(on=on))
        elif cb.type == "customer_left":
            await self._close("back_to_commercial_supplier", {"reported_by": "netbeheerder"})
        elif cb.type == "emergency_credit_granted":
            pass  # recorded when requested; the confirmation changes nothing

    # ---- OCMW steps ------------------------------------------------------------------------------------

    @workflow.update(name="supplier_event")
    async def supplier_event(self, cmd: SupplierEvent) -> StepResult:
        async with self._lock:
            self._steps += 1
            s = self._s
            if cmd.type == "contract_ended":
                await self._contract_ended(cmd.on, "supplier_ended_contract")
                return StepResult(status=s.phase, message="Contract ended; the netbeheerder is asked to take over.")
            await self._emit(SupplierEventRecorded(type=cmd.type, on=cmd.on))
            await self._close(cmd.type, {"on": cmd.on})
            return StepResult(status=s.phase, message=f"Case closed: {cmd.type.replace('_', ' ')}.")

    @supplier_event.validator
    def _validate_supplier_event(self, cmd: SupplierEvent) -> None:
        s = self._require_open()
        if cmd.on > today():
            raise invalid(f"The date {cmd.on} lies in the future.")
        if cmd.on < s.notice_of_default_on:
            raise invalid(f"The date {cmd.on} is before the notice of default ({s.notice_of_default_on}).")
        if s.phase != "notice_period":
            raise out_of_order(f"The supplier's contract already ended; the case is in phase '{s.phase}'.")

    @workflow.update(name="request_prepayment")
    async def request_prepayment(self, cmd: PrepaymentRequest) -> StepResult:
        async with self._lock:
            self._steps += 1
            await self._request_prepayment("customer_request", **({"note": cmd.note} if cmd.note else {}))
            return StepResult(status=self._s.phase, message="Prepayment activation requested from the netbeheerder.")

    @request_prepayment.validator
    def _validate_prepayment(self, cmd: PrepaymentRequest) -> None:
        s = self._require_open()
        if s.phase != "social_supplier":
            raise out_of_order(f"Prepayment can be requested once the netbeheerder supplies; phase is '{s.phase}'.")
        if s.prepayment_requested_on is not None:
            raise out_of_order(f"Prepayment activation was already requested on {s.prepayment_requested_on}.")

    @workflow.update(name="lac_request")
    async def lac_request(self, cmd: LacRequest) -> StepResult:
        async with self._lock:
            self._steps += 1
            on = today()
            self._s.lac = Lac(requested_on=on, hearing_on=cmd.hearing_on)
            self._s.disconnection = None
            await self._emit(LacRequested(requested_on=on, hearing_on=cmd.hearing_on))
            return StepResult(status=self._s.phase, message=f"LAC hearing set for {cmd.hearing_on}.")

    @lac_request.validator
    def _validate_lac_request(self, cmd: LacRequest) -> None:
        s = self._require_open()
        if s.phase not in ("social_supplier", "prepayment"):
            raise out_of_order(f"The LAC is asked once the netbeheerder supplies; phase is '{s.phase}'.")
        if cmd.hearing_on < today():
            raise invalid(f"The hearing date {cmd.hearing_on} lies in the past.")
        if s.lac is not None and s.lac.advice is None:
            raise out_of_order(f"A LAC hearing is already planned on {s.lac.hearing_on}.")

    @workflow.update(name="lac_advice")
    async def lac_advice(self, cmd: LacAdvice) -> StepResult:
        async with self._lock:
            self._steps += 1
            s = self._s
            assert s.lac is not None and self._book is not None
            s.lac.advice, s.lac.advice_on = cmd.advice, cmd.on
            await self._emit(LacAdviceGiven(advice=cmd.advice, on=cmd.on))
            if cmd.advice == "refuse":
                return StepResult(status=s.phase, message="The LAC refused: nothing is switched off.")
            s.disconnection = Disconnection(kind=cmd.advice)
            on = today()
            if in_winter_ban(self._book, on):
                until_day = winter_ban_ends(self._book, on)
                s.disconnection.deferred_until = until_day
                await self._emit(DisconnectionDeferred(kind=cmd.advice, until=until_day, reason="winter_ban"))
                return StepResult(status=s.phase, message=f"Winter ban: the advice is carried out on {until_day}.")
            await self._schedule_disconnection(on)
            return StepResult(status=s.phase, message="The advice is passed to the netbeheerder.")

    @lac_advice.validator
    def _validate_lac_advice(self, cmd: LacAdvice) -> None:
        s = self._require_open()
        if s.lac is None or s.lac.advice is not None:
            raise out_of_order("There is no LAC request waiting for advice.")
        if cmd.on > today():
            raise invalid(f"The advice date {cmd.on} lies in the future.")
        if cmd.on < s.lac.requested_on:
            raise invalid(f"The advice date {cmd.on} is before the LAC was asked ({s.lac.requested_on}).")
        if cmd.advice == "switch_off_minimal_supply" and s.energy != "electricity":
            raise invalid("Minimal supply exists only for electricity.")

    @workflow.update(name="winter_support_apply")
    async def winter_support_apply(self, cmd: WinterSupportApplication) -> StepResult:
        async with self._lock:
            self._steps += 1
            on = today()
            start_year = on.year if on.month >= 7 else on.year - 1
            self._s.winter_support = WinterSupport(
                status="applied", applied_on=on, winter_start_year=start_year, heating=cmd.heating,
                average_winter_consumption_eur=cmd.average_winter_consumption_eur)
            await self._emit(WinterSupportApplied(
                heating=cmd.heating, on=on, average_winter_consumption_eur=cmd.average_winter_consumption_eur))
            return StepResult(status=self._s.phase,
                              message="Winter heating support applied for; waiting for a decision.")

    @winter_support_apply.validator
    def _validate_winter_apply(self, cmd: WinterSupportApplication) -> None:
        s = self._require_open()
        assert self._book is not None
        on = today()
        if not s.prepayment_active:
            raise out_of_order("Winter heating support is for households on a prepayment meter.")
        if not heating_support_open(self._book, on):
            raise out_of_order(f"Winter heating support can be applied for from 1 November to 31 March, not on {on}.")
        if cmd.heating == "gas" and s.energy != "gas":
            raise invalid("Gas heating support belongs on the gas case of the household.")
        if not heating_eligible(self._book, cmd.heating, on):
            raise invalid(f"Heating by {cmd.heating.replace('_', ' ')} does not qualify on {on}.")
        if s.winter_support is not None and s.winter_support.status in ("applied", "approved"):
            raise out_of_order("Winter heating support was already applied for this winter.")

    @workflow.update(name="winter_support_decision")
    async def winter_support_decision(self, cmd: WinterSupportDecision) -> StepResult:
        async with self._lock:
            self._steps += 1
            ws = self._s.winter_support
            assert ws is not None and self._book is not None
            on = today()
            if cmd.decision == "reject":
                ws.status = "rejected"
                await self._emit(WinterSupportRejected(on=on, reason=cmd.reason))
                return StepResult(status=self._s.phase, message="Winter heating support rejected.")
            ws.status = "approved"
            ws.topup_amount = half_monthly_topup(self._book, ws.average_winter_consumption_eur)
            ws.ends_on = heating_support_ends(self._book, ws.applied_on)  # the winter it was applied for
            await self._emit(WinterSupportApproved(on=on, topup_amount=ws.topup_amount, until=ws.ends_on))
            await self._load_topup(on)
            return StepResult(status=self._s.phase,
                              message=f"Approved: {ws.topup_amount} per half month until {ws.ends_on}.")

    @winter_support_decision.validator
    def _validate_winter_decision(self, cmd: WinterSupportDecision) -> None:
        s = self._require_open()
        if s.winter_support is None or s.winter_support.status != "applied":
            raise out_of_order("There is no winter heating support application waiting for a decision.")
        if cmd.decision == "reject" and not (cmd.reason and len(cmd.reason) >= 3):
            raise invalid("A rejection needs a reason.")

    @workflow.update(name="close")
    async def close(self, cmd: CloseEnergyCase) -> StepResult:
        async with self._lock:
            await self._close(cmd.reason, {"note": cmd.note} if cmd.note else {})
            return StepResult(status="closed", message=f"Case closed: {cmd.reason.replace('_', ' ')}.")

    @close.validator
    def _validate_close(self, cmd: CloseEnergyCase) -> None:
        self._require_open()

    @workflow.update(name="opened")
    async def opened(self) -> StepResult:
        """Answers once the case's first events are in the log, so the API's 201 means it can take steps."""
        await workflow.wait_condition(lambda: self._opened)
        return StepResult(status=self._s.phase, message="Case opened.")

    @workflow.query(name="state")
    def state(self) -> EnergyCaseState:
        s = self._s.model_copy(deep=True)
        s.deadlines = self._due_dates()
        return s

    # ---- helpers ---------------------------------------------------------------------------------------

    def _require_open(self) -> EnergyCaseState:
        if self._state is None or not self._opened:
            raise out_of_order("The case is still being opened; try again in a moment.")
        if self._state.phase == "closed":
            raise out_of_order(f"The case is closed ({self._state.closing_reason}).")
        return self._state

    async def _request(self, kind: str, purpose: str, params: dict[str, Any]) -> None:
        """Ask the netbeheerder to act; the idempotency key makes retries one request."""
        s = self._s
        self._request_seq += 1
        await workflow.execute_activity(
            netbeheerder_request,
            NetbeheerderRequest(
                idempotency_key=f"{s.case_id}:{purpose}:{self._request_seq}", type=kind,
                ean=s.ean, energy=s.energy, netbeheerder=s.netbeheerder, params=params,
                callback_url=self._inp.callback_url,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=HTTP_RETRY,
        )

    async def _emit(self, *bodies: EventData) -> None:
        await emit(self._writer, *bodies)
        self._wake = True  # the state changed: the main loop recomputes its next deadline
