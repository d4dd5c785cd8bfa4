"""A winter ban extended while a disconnection waits for its end reaches the waiting case (domain.md §2).

On a time-skipping server of its own, with the activities stubbed: the rule book the activity returns is changed in
the middle of the winter, as an operator's ``vangnet rules winter-ban extend`` would. The case deferred to the
recurring end (1 March) reads the book again on that day, records the move with the extension's rule and source,
waits until the new end and only then asks for the disconnection; also when the case continued as new while it
waited.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import workflows.energy_case
from schemas.calendar import brussels_date, brussels_midnight
from schemas.energy import EnergyCaseInput, EnergyCaseState, LacAdvice, LacRequest, SupplierEvent
from schemas.energy_rules import EnergyRuleBook, winter_ban_ends, winter_name
from schemas.event_catalog import decode
from schemas.events import AppendEvents, DomainEvent, StoredEvent
from schemas.netbeheerder import Callback, NetbeheerderRequest
from tests.conftest import eventually, time_skipping_server
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.storage.energy_document import EnergyCaseDocument, fold
from worker.sandbox import workflow_runner
from workflows.energy_case import EnergyCaseWorkflow

BOOK = load_energy_rule_book()
SOURCE = "Ministerieel besluit tot verlenging van het afschakelverbod (test)"
EVENTS: dict[str, dict[str, DomainEvent]] = {}
REQUESTS: dict[str, list[NetbeheerderRequest]] = {}
CURRENT: dict[str, EnergyRuleBook] = {"book": BOOK}  # what the rule-book activity returns; a test changes it


@activity.defn(name="append_events")
async def append_events(request: AppendEvents) -> int:
    for e in request.events:
        EVENTS.setdefault(e.case_id, {})[e.event_id] = e
    return len(request.events)


@activity.defn(name="netbeheerder_request")
async def netbeheerder_request(request: NetbeheerderRequest) -> None:
    REQUESTS.setdefault(request.idempotency_key.split(":")[0], []).append(request)


@activity.defn(name="load_energy_rule_book")
async def load_book() -> EnergyRuleBook:
    return CURRENT["book"]


def extended(start_year: int, until: date) -> EnergyRuleBook:
    """The packaged book with the winter starting in ``start_year`` extended to ``until`` (validated whole)."""
    data = BOOK.model_dump(mode="json")
    data["winter_windows"] = [*data["winter_windows"], {
        "window": "winter_ban", "winter": winter_name(start_year), "start": f"{start_year}-12-01",
        "end": until.isoformat(), "source": SOURCE}]
    return EnergyRuleBook.model_validate(data)


@dataclass
class Env:
    env: WorkflowEnvironment
    sandboxed: str
    unsandboxed: str

    async def today(self) -> date:
        return brussels_date(await self.env.get_current_time())

    async def sleep_until(self, day: date) -> None:
        target = brussels_midnight(day) + timedelta(hours=9)
        now = await self.env.get_current_time()
        if target > now:
            await self.env.sleep(target - now)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    async with time_skipping_server() as ts:
        queues = (f"ban-{uuid.uuid4().hex[:8]}", f"ban-plain-{uuid.uuid4().hex[:8]}")
        activities: list[Callable[..., Any]] = [append_events, netbeheerder_request, load_book]
        # The second worker runs the workflow outside the sandbox, so a test can lower MAX_STEPS_PER_RUN.
        async with Worker(ts.client, task_queue=queues[0], workflows=[EnergyCaseWorkflow], activities=activities,
                          workflow_runner=workflow_runner()), \
                Worker(ts.client, task_queue=queues[1], workflows=[EnergyCaseWorkflow], activities=activities,
                       workflow_runner=UnsandboxedWorkflowRunner()):
            yield Env(ts, *queues)


@pytest.fixture(autouse=True)
def packaged_book() -> None:
    CURRENT["book"] = BOOK


class Case:
    def __init__(self, env: Env, handle: WorkflowHandle[Any, Any]) -> None:
        # a handle without a run id: it follows the case into the run it continued as
        self.env, self.case_id = env, handle.id
        self.handle: WorkflowHandle[Any, Any] = env.env.client.get_workflow_handle(handle.id)

    @classmethod
    async def in_social_supply(cls, env: Env, task_queue: str) -> Case:
        case_id = f"energy-case-{uuid.uuid4().hex[:12]}"
        inp = EnergyCaseInput(case_id=case_id, ocmw_id="ocmw-44021", ean="541448820000000017", energy="gas",
                              supplier="Engie", netbeheerder="fluvius", municipality_nis="44021",
                              notice_of_default_on=await env.today(), callback_url="http://vangnet.test/callbacks",
                              book=BOOK)
        handle: WorkflowHandle[Any, Any] = await env.env.client.start_workflow(
            EnergyCaseWorkflow.run, inp, id=case_id, task_queue=task_queue)
        _ = await handle.execute_update(EnergyCaseWorkflow.opened)
        case = cls(env, handle)
        _ = await case.handle.execute_update(EnergyCaseWorkflow.supplier_event,
                                             SupplierEvent(type="contract_ended", on=await env.today()))
        await case.handle.signal(EnergyCaseWorkflow.netbeheerder_callback, Callback(
            event_id=f"cb-{uuid.uuid4().hex}", type="takeover_confirmed", ean="541448820000000017", energy="gas",
            netbeheerder="fluvius", occurred_at=datetime.now(UTC), data={}))
        await eventually(lambda: case.phase_is("social_supplier"), within=5)
        return case

    async def phase_is(self, phase: str) -> bool:
        return (await self.state()).phase == phase

    async def state(self) -> EnergyCaseState:
        return await self.handle.query(EnergyCaseWorkflow.state)

    def events(self, type_: str) -> list[dict[str, Any]]:
        found = sorted(EVENTS.get(self.case_id, {}).values(), key=lambda e: e.stream_version)
        return [e.data for e in found if e.type == type_]

    def document(self) -> EnergyCaseDocument | None:
        """The read side's case document, folded from the events the case recorded."""
        doc = None
        for n, e in enumerate(sorted(EVENTS.get(self.case_id, {}).values(), key=lambda e: e.stream_version)):
            doc = fold(doc, StoredEvent(**e.model_dump(), position=n, recorded_at=e.occurred_at), decode(e))
        return doc

    def disconnection_requests(self) -> list[NetbeheerderRequest]:
        return [r for r in REQUESTS.get(self.case_id, []) if r.type == "schedule_disconnection"]

    async def disconnection_deferred_in_the_ban(self) -> date:
        """The LAC advises disconnection on 5 December; the advice waits for the ban's end, which it returns."""
        in_ban = next_december_5(await self.env.today())
        await self.env.sleep_until(in_ban)
        _ = await self.handle.execute_update(EnergyCaseWorkflow.lac_request, LacRequest(hearing_on=in_ban))
        _ = await self.handle.execute_update(EnergyCaseWorkflow.lac_advice, LacAdvice(advice="disconnect", on=in_ban))
        until = winter_ban_ends(BOOK, in_ban)
        deferred = self.events("DisconnectionDeferred")
        assert [d["until"] for d in deferred] == [until.isoformat()]
        assert deferred[0]["window_id"] == "winter_ban@2010-11-19" and "L5609-5611" in deferred[0]["source"]
        return until


def next_december_5(after: date) -> date:
    candidate = date(after.year, 12, 5)
    return candidate if candidate > after else date(after.year + 1, 12, 5)


async def follows_the_extension(case: Case, old_end: date) -> None:
    """The ban is extended to 31 March ten days before its old end; the case moves and waits until 1 April."""
    winter = old_end.year - 1
    await case.env.sleep_until(old_end - timedelta(days=10))
    CURRENT["book"] = extended(winter, date(winter + 1, 3, 31))
    await case.env.sleep_until(old_end)
    moved = await eventually(lambda: _async(case.events("DisconnectionDeferralMoved")), within=5)
    new_end = date(winter + 1, 4, 1)
    assert moved == [{"kind": "disconnect", "previous_until": old_end.isoformat(), "until": new_end.isoformat(),
                      "window_id": f"winter_ban/{winter_name(winter)}", "source": SOURCE}]
    state = await case.state()
    assert state.disconnection is not None and state.disconnection.deferred_until == new_end
    assert [d.due_on for d in state.deadlines if d.kind == "deferred_disconnection"] == [new_end]
    doc = case.document()  # the read side (API, pages) shows the new date too
    assert doc is not None and doc.disconnection is not None and doc.disconnection.deferred_until == new_end
    assert case.events("DisconnectionScheduled") == [] and case.disconnection_requests() == []
    await case.env.sleep_until(new_end - timedelta(days=1))
    assert case.events("DisconnectionScheduled") == [] and case.disconnection_requests() == []
    await case.env.sleep_until(new_end)
    scheduled = await eventually(lambda: _async(case.events("DisconnectionScheduled")), within=5)
    assert scheduled == [{"kind": "disconnect", "on": new_end.isoformat()}]
    assert [r.params for r in case.disconnection_requests()] == [{"on_date": new_end.isoformat()}]
    assert len(case.events("DisconnectionDeferralMoved")) == 1  # read again on 1 April: not in the ban, carried out


async def _async(value: Any) -> Any:
    return value


async def test_waiting_case_follows_a_ban_extended_mid_winter(env: Env) -> None:
    case = await Case.in_social_supply(env, env.sandboxed)
    old_end = await case.disconnection_deferred_in_the_ban()
    await follows_the_extension(case, old_end)


async def test_without_an_extension_the_disconnection_comes_on_the_old_end(env: Env) -> None:
    case = await Case.in_social_supply(env, env.sandboxed)
    old_end = await case.disconnection_deferred_in_the_ban()
    await env.sleep_until(old_end)
    scheduled = await eventually(lambda: _async(case.events("DisconnectionScheduled")), within=5)
    assert scheduled == [{"kind": "disconnect", "on": old_end.isoformat()}]
    assert case.events("DisconnectionDeferralMoved") == []


async def test_case_that_continued_as_new_while_waiting_follows_the_extension(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # contract end, takeover, LAC request and advice are four steps: the run continues as new right after the
    # deferral, carrying the book it had (without the extension)
    monkeypatch.setattr(workflows.energy_case, "MAX_STEPS_PER_RUN", 4)
    case = await Case.in_social_supply(env, env.unsandboxed)
    first_run = (await case.handle.describe()).run_id
    old_end = await case.disconnection_deferred_in_the_ban()

    async def continued() -> bool:
        return (await case.handle.describe()).run_id != first_run

    await eventually(continued, within=5)
    state = await case.state()
    assert state.disconnection is not None and state.disconnection.deferred_until == old_end
    await follows_the_extension(case, old_end)


async def test_advice_given_in_an_extension_the_case_did_not_open_with_waits_for_its_end(env: Env) -> None:
    case = await Case.in_social_supply(env, env.sandboxed)  # opened with the packaged book (no extension)
    winter = next_december_5(await env.today()).year
    CURRENT["book"] = extended(winter, date(winter + 1, 3, 31))
    advice_day = date(winter + 1, 3, 10)  # after the recurring end, inside the extension
    await env.sleep_until(advice_day)
    _ = await case.handle.execute_update(EnergyCaseWorkflow.lac_request, LacRequest(hearing_on=advice_day))
    _ = await case.handle.execute_update(EnergyCaseWorkflow.lac_advice, LacAdvice(advice="disconnect", on=advice_day))
    new_end = date(winter + 1, 4, 1)
    assert [d.due_on for d in (await case.state()).deadlines if d.kind == "deferred_disconnection"] == [new_end]
    assert case.events("DisconnectionDeferred") == [{
        "kind": "disconnect", "until": new_end.isoformat(), "reason": "winter_ban",
        "window_id": f"winter_ban/{winter_name(winter)}", "source": SOURCE}]
    assert case.events("DisconnectionScheduled") == [] and case.disconnection_requests() == []
    await env.sleep_until(new_end)
    scheduled = await eventually(lambda: _async(case.events("DisconnectionScheduled")), within=5)
    assert scheduled == [{"kind": "disconnect", "on": new_end.isoformat()}]
