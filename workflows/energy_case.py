"""One energy-arrears case per connection point and energy (domain.md §2).

From the supplier's notice of default through the notice period, the netbeheerder's takeover as social supplier,
prepayment activation and emergency credit, minimal supply, the LAC and the winter ban, to winter heating support.
Callbacks arrive as signals and may come late, twice or out of order: each is applied once (event ids) and a
callback that implies an earlier step records that step first. Years-long cases continue-as-new with their state.

This module is the workflow's face: its name, the main loop and every signal, update and query. The procedure's
steps live in ``energy_procedure`` (with the memory carried over continue-as-new), the calendar in
``energy_calendar``, the callbacks in ``energy_callbacks``, the OCMW steps in ``energy_ocmw`` (the request to
restore minimal supply in ``energy_minimal_supply``) and the phases with what moves between them in
``energy_phases``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.common import StepResult
    from schemas.energy import (
        CloseEnergyCase,
        EnergyCaseInput,
        EnergyCaseState,
        LacAdvice,
        LacRequest,
        MinimalSupplyRestoreRequest,
        PrepaymentRequest,
        SupplierEvent,
        WinterSupportApplication,
        WinterSupportDecision,
    )
    from schemas.netbeheerder import Callback

from workflows import energy_minimal_supply as minimal_supply
from workflows import energy_ocmw as ocmw
from workflows.common import handlers_done_in_a_quiet_task, out_of_order, recheck, until
from workflows.energy_calendar import due_dates, next_deadline, on_time
from workflows.energy_callbacks import apply_callback, first_seen
from workflows.energy_procedure import EnergyCase

MAX_STEPS_PER_RUN = 400  # well below the 2,000-update limit; continue-as-new before
C = TypeVar("C")


# Waiting callbacks are applied in the order they happened at the netbeheerder (``occurred_at``), not as they arrived.
CALLBACKS_IN_OCCURRENCE_ORDER = "callbacks-in-occurrence-order"


@workflow.defn(name="EnergyCase")
class EnergyCaseWorkflow:
    @workflow.init
    def __init__(self, inp: EnergyCaseInput) -> None:
        self._case = EnergyCase(inp, on_change=self._wake_up)  # everything a next run needs (``carry``)
        self._opened = inp.state is not None
        # Runtime only: callbacks not yet applied (continue-as-new waits until there are none), the steps of
        # this run, the loop's wake flag and the lock that keeps steps one at a time.
        self._inbox: list[Callback] = []
        self._steps = 0
        self._wake = False
        self._lock = asyncio.Lock()

    # ---- the procedure ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: EnergyCaseInput) -> EnergyCaseState:
        """The notice of default opens the case in its notice period. From then on the calendar and the
        netbeheerder's callbacks move it: the notice period ends and the netbeheerder takes over as social
        supplier; an unpaid invoice (gas), the takeover (electricity) or the customer brings prepayment with
        emergency credit; the LAC's advice waits for the end of the winter ban; heating support loads its
        top-ups until the reimbursement claim. The OCMW's steps (updates) come in between, until the case
        closes. A long case continues as new with what it remembers."""
        async with self._lock:
            if self._case.state is None:
                await self._case.open()
                self._opened = True
        while self._case.s.phase != "closed":
            await self._continue_as_new_when_due()
            await self._wait_for_next_deadline_or_callback()
            async with self._lock:
                await self._apply_callbacks()
                await on_time(self._case)
        await handlers_done_in_a_quiet_task(self._case.writer)
        return self._case.s

    async def _continue_as_new_when_due(self) -> None:
        if workflow.info().is_continue_as_new_suggested() or self._steps >= MAX_STEPS_PER_RUN:
            await handlers_done_in_a_quiet_task(self._case.writer)
            async with self._lock:
                if not self._inbox:
                    workflow.continue_as_new(self._case.carry())

    async def _wait_for_next_deadline_or_callback(self) -> None:
        wake_on = next_deadline(self._case)
        wait = until(wake_on) if wake_on is not None else None
        if wait is None or wait > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._wake or bool(self._inbox), timeout=wait)
        self._wake = False

    async def _apply_callbacks(self) -> None:
        """The netbeheerder's callbacks waiting, each once, the one that happened first first, until the case
        closes."""
        while self._inbox and self._case.s.phase != "closed":
            cb = self._inbox.pop(self._first_happened())
            if first_seen(self._case, cb):
                self._steps += 1
                await apply_callback(self._case, cb)

    def _first_happened(self) -> int:
        """Where in the inbox the callback is that happened first (arrival order among equals). Callbacks that
        waited together (a worker down, the forwarder catching up) can have arrived in any order: in arrival order
        an invoice paid before it was issued was lost and an older debt overwrote a newer one. Histories recorded
        before this rule keep arrival order (the patch marker), so they replay as they ran."""
        if not workflow.patched(CALLBACKS_IN_OCCURRENCE_ORDER):
            return 0
        return min(range(len(self._inbox)), key=lambda i: self._inbox[i].occurred_at)

    def _wake_up(self) -> None:
        self._wake = True  # the state changed: the main loop recomputes its next deadline

    # ---- callbacks -------------------------------------------------------------------------------------

    @workflow.signal(name="netbeheerder_callback")
    def netbeheerder_callback(self, callback: Callback) -> None:
        if callback.event_id in self._case.seen or any(c.event_id == callback.event_id for c in self._inbox):
            return
        self._inbox.append(callback)

    # ---- OCMW steps ------------------------------------------------------------------------------------

    async def _step(self, step: Callable[[EnergyCase, C], Awaitable[StepResult]], cmd: C,
                    validator: Callable[[C], None], *, counts: bool = True) -> StepResult:
        """Run an accepted step alone, if it still fits once its turn comes; every step but closing counts toward
        continue-as-new."""
        async with self._lock:
            recheck(validator, cmd)
            if counts:
                self._steps += 1
            return await step(self._case, cmd)

    @workflow.update(name="supplier_event")
    async def supplier_event(self, cmd: SupplierEvent) -> StepResult:
        return await self._step(ocmw.supplier_event, cmd, self._validate_supplier_event)

    @supplier_event.validator
    def _validate_supplier_event(self, cmd: SupplierEvent) -> None:
        ocmw.check_supplier_event(self._require_open(), cmd)

    @workflow.update(name="request_prepayment")
    async def request_prepayment(self, cmd: PrepaymentRequest) -> StepResult:
        return await self._step(ocmw.request_prepayment, cmd, self._validate_prepayment)

    @request_prepayment.validator
    def _validate_prepayment(self, cmd: PrepaymentRequest) -> None:
        ocmw.check_request_prepayment(self._require_open(), cmd)

    @workflow.update(name="lac_request")
    async def lac_request(self, cmd: LacRequest) -> StepResult:
        return await self._step(ocmw.lac_request, cmd, self._validate_lac_request)

    @lac_request.validator
    def _validate_lac_request(self, cmd: LacRequest) -> None:
        ocmw.check_lac_request(self._require_open(), cmd)

    @workflow.update(name="lac_advice")
    async def lac_advice(self, cmd: LacAdvice) -> StepResult:
        return await self._step(ocmw.lac_advice, cmd, self._validate_lac_advice)

    @lac_advice.validator
    def _validate_lac_advice(self, cmd: LacAdvice) -> None:
        ocmw.check_lac_advice(self._require_open(), cmd)

    @workflow.update(name="minimal_supply_restore_request")
    async def minimal_supply_restore_request(self, cmd: MinimalSupplyRestoreRequest) -> StepResult:
        return await self._step(minimal_supply.restore_request, cmd, self._validate_restore_request)

    @minimal_supply_restore_request.validator
    def _validate_restore_request(self, cmd: MinimalSupplyRestoreRequest) -> None:
        minimal_supply.check_restore_request(self._require_open(), self._case.b, cmd)

    @workflow.update(name="winter_support_apply")
    async def winter_support_apply(self, cmd: WinterSupportApplication) -> StepResult:
        return await self._step(ocmw.winter_support_apply, cmd, self._validate_winter_apply)

    @winter_support_apply.validator
    def _validate_winter_apply(self, cmd: WinterSupportApplication) -> None:
        ocmw.check_winter_support_apply(self._require_open(), self._case.b, cmd)

    @workflow.update(name="winter_support_decision")
    async def winter_support_decision(self, cmd: WinterSupportDecision) -> StepResult:
        return await self._step(ocmw.winter_support_decision, cmd, self._validate_winter_decision)

    @winter_support_decision.validator
    def _validate_winter_decision(self, cmd: WinterSupportDecision) -> None:
        ocmw.check_winter_support_decision(self._require_open(), cmd)

    @workflow.update(name="close")
    async def close(self, cmd: CloseEnergyCase) -> StepResult:
        return await self._step(ocmw.close, cmd, self._validate_close, counts=False)

    @close.validator
    def _validate_close(self, cmd: CloseEnergyCase) -> None:
        self._require_open()

    @workflow.update(name="opened")
    async def opened(self) -> StepResult:
        """Answers once the case's first events are in the log, so the API's 201 means it can take steps."""
        await workflow.wait_condition(lambda: self._opened)
        return StepResult(status=self._case.s.phase, message="Case opened.")

    @workflow.query(name="state")
    def state(self) -> EnergyCaseState:
        s = self._case.s.model_copy(deep=True)
        s.deadlines = due_dates(self._case)
        return s

    def _require_open(self) -> EnergyCaseState:
        state = self._case.state
        if state is None or not self._opened:
            raise out_of_order("The case is still being opened; try again in a moment.")
        if state.phase == "closed":
            raise out_of_order(f"The case is closed ({state.closing_reason}).")
        return state
