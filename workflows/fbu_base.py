"""What every part of the FBU case workflow shares: its one state object, appending events, status moves, closing.

``FbuCaseWorkflow`` is assembled from this base and one mixin per concern (``fbu_payouts``, ``fbu_agreement``,
``fbu_follow_up``); the workflow, its updates, signal and query are declared in ``fbu_case`` only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.activities import RuleSetQuery
    from schemas.events import CaseClosed, DomainEvent, EventData, StreamWriter
    from schemas.fbu import PARTIES, CaseStatus, ClosingReason, FbuCaseInput, FbuCaseState, FbuWorkflowState
    from schemas.fbu_rules import FbuRuleSet

from workflows import fbu_status
from workflows.common import emit, lookup, out_of_order, today
from workflows.contracts import fbu_rule_set_on
from workflows.fbu_claim import ClaimingCase

# A step that closes the case wakes the main loop, so the run ends right after it; runs before this ended at their
# next timer (days later for a breached plan).
CLOSING_ENDS_THE_RUN = "fbu-closing-ends-the-run"


class FbuCaseBase(ClaimingCase):
    _inp: FbuCaseInput
    _data: FbuWorkflowState  # all the state; the writer's number is copied into it when the run continues as new
    _writer: StreamWriter
    _wake: bool  # runtime: a step asks the main loop to look at the case again
    _lock: asyncio.Lock  # runtime: one step at a time
    _claims_starting: list[asyncio.Task[Any]]  # runtime: claim workflows whose start the server has yet to confirm
    _held: list[EventData] | None  # runtime: a step's events kept for one append (``_one_append``)

    @property
    def _case(self) -> FbuCaseState:
        return self._data.case

    def _move(self, step: str, target: CaseStatus) -> None:
        fbu_status.move(self._case, step, target)

    async def _close(self, step: str, reason: ClosingReason, data: dict[str, Any]) -> None:
        s = self._case
        self._move(step, "closed")
        s.closing_reason = reason
        await self._emit(CaseClosed(reason=reason, closed_on=today(), **data))
        if workflow.patched(CLOSING_ENDS_THE_RUN):
            self._wake = True

    def _require_open(self) -> FbuCaseState:
        s = self._case
        if not self._data.opened:
            raise out_of_order("The case is still being opened; try again in a moment.")
        if s.status == "closed":
            raise out_of_order(f"The case is closed ({s.closing_reason}).")
        return s

    def _require_awaiting_signatures(self, step: str) -> FbuCaseState:
        s = self._require_open()
        if not fbu_status.allows(s.status, step) or s.agreement is None:
            raise out_of_order(f"There is no agreement waiting for signatures; the case is '{s.status}'.")
        return s

    def _missing_signatures(self) -> list[str]:
        agreement = self._case.agreement
        signed = {sig.party for sig in agreement.signatures} if agreement else set()
        return [p for p in PARTIES if p not in signed]

    async def _rule_set_on(self, on: date) -> FbuRuleSet:
        return await lookup(fbu_rule_set_on, RuleSetQuery(on=on))

    async def _emit(self, *bodies: EventData) -> None:
        if self._held is not None:
            self._held.extend(bodies)
            return
        await emit(self._writer, *bodies)

    @asynccontextmanager
    async def _one_append(self) -> AsyncIterator[None]:
        """The events emitted inside go to the log together: one local activity and one turn of the log's append
        lock for the step, not one per emit. ``_flush`` appends what is held so far (before a claim workflow
        starts, so the claim is in the log first)."""
        self._held = []
        try:
            yield
        finally:
            await self._flush()
            self._held = None

    async def _flush(self, *elsewhere: DomainEvent) -> None:
        """Append what is held, with ``elsewhere``'s events of other streams (a claim's) in the same call."""
        if self._held or elsewhere:
            held, self._held = self._held or [], [] if self._held is not None else None
            await emit(self._writer, *held, elsewhere=elsewhere)


def cause(exc: ActivityError) -> str:
    """The message of the error an activity failed with (a missing rule set, for instance)."""
    inner = exc.cause
    return inner.message if isinstance(inner, ApplicationError) else str(exc)
