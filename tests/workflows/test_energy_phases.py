"""The energy case's phase table (workflows/energy_phases.py) is what the workflow does.

On a time-skipping server of its own, with the activities stubbed: every phase-changing row is driven from its
phase by its trigger (OCMW step, callback or calendar) and the phases the case goes through are those the table
gives; in every open phase each OCMW step the table lists is accepted and leaves the phase as it is, and each
step it does not list is refused as out of order. Also: the table renders as Markdown, and everything a run
knows beyond its runtime flags is in what it carries over continue-as-new.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from schemas.calendar import brussels_date, brussels_midnight
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
from schemas.energy_rules import EnergyRuleBook
from schemas.events import AppendEvents, DomainEvent
from schemas.netbeheerder import Callback, NetbeheerderRequest
from tests.conftest import eventually, time_skipping_server
from tests.history_checks import appends_in_the_ending_task
from vangnet.rulebooks.rulebook import load_energy_rule_book
from worker.sandbox import workflow_runner
from workflows.energy_case import EnergyCaseWorkflow
from workflows.energy_phases import OPEN, START, TARGETS, TRANSITIONS, allows, markdown_table
from workflows.energy_procedure import EnergyCase

EVENTS: dict[str, dict[str, DomainEvent]] = {}
BOOK = load_energy_rule_book()
PHASE_OF_EVENT = {"NoticePeriodStarted": "notice_period", "ContractEnded": "awaiting_takeover",
                  "SocialSupplierTookOver": "social_supplier", "PrepaymentActivated": "prepayment",
                  "CaseClosed": "closed"}


@activity.defn(name="append_events")
async def append_events(request: AppendEvents) -> int:
    for e in request.events:
        EVENTS.setdefault(e.case_id, {})[e.event_id] = e
    return len(request.events)


@activity.defn(name="netbeheerder_request")
async def netbeheerder_request(request: NetbeheerderRequest) -> None:
    """The netbeheerder takes note; its callbacks come from the test."""


@activity.defn(name="load_energy_rule_book")
async def load_book() -> EnergyRuleBook:
    return BOOK


@dataclass
class Env:
    env: WorkflowEnvironment
    task_queue: str

    async def today(self) -> date:
        return brussels_date(await self.env.get_current_time())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    async with time_skipping_server() as ts:
        task_queue = f"phases-{uuid.uuid4().hex[:8]}"
        async with Worker(ts.client, task_queue=task_queue, workflows=[EnergyCaseWorkflow],
                          activities=[append_events, netbeheerder_request, load_book],
                          workflow_runner=workflow_runner()):
            e = Env(ts, task_queue)
            today = await e.today()
            if date(today.year, 2, 28) < today < date(today.year, 11, 3):
                # winter heating support is applied for from 1 November to 31 March
                target = brussels_midnight(date(today.year, 11, 3)) + timedelta(hours=9)
                await ts.sleep(target - await ts.get_current_time())
            yield e


# ---- driving a case ----------------------------------------------------------------------------------------


class Case:
    def __init__(self, env: Env, handle: WorkflowHandle[Any, Any]) -> None:
        self.env, self.handle, self.case_id = env, handle, handle.id

    @classmethod
    async def open(cls, env: Env, notice_days_ago: int = 0) -> Case:
        case_id = f"energy-case-{uuid.uuid4().hex[:12]}"
        inp = EnergyCaseInput(case_id=case_id, ocmw_id="ocmw-44021", ean="541448820000000017", energy="gas",
                              supplier="Engie", netbeheerder="fluvius", municipality_nis="44021",
                              notice_of_default_on=await env.today() - timedelta(days=notice_days_ago),
                              callback_url="http://vangnet.test/callbacks", book=BOOK)
        handle: WorkflowHandle[Any, Any] = await env.env.client.start_workflow(
            EnergyCaseWorkflow.run, inp, id=case_id, task_queue=env.task_queue)
        _ = await handle.execute_update(EnergyCaseWorkflow.opened)  # answers once CaseOpened is in the log
        return cls(env, handle)

    async def state(self) -> EnergyCaseState:
        return await self.handle.query(EnergyCaseWorkflow.state)

    async def phase_becomes(self, phase: str) -> None:
        async def probe() -> bool:
            return (await self.state()).phase == phase

        try:
            await eventually(probe, within=5)
        except AssertionError:
            raise AssertionError(f"phase is {(await self.state()).phase}, the table says {phase}") from None

    def phases(self) -> list[str]:
        """The phases the case entered, from its events (in stream order)."""
        events = sorted(EVENTS.get(self.case_id, {}).values(), key=lambda e: e.stream_version)
        return [PHASE_OF_EVENT[e.type] for e in events if e.type in PHASE_OF_EVENT]

    def because(self) -> list[str]:
        return [str(e.data["because"]) for e in EVENTS.get(self.case_id, {}).values() if e.type == "ContractEnded"]

    async def callback(self, type_: str, **data: Any) -> None:
        cb = Callback(event_id=f"cb-{uuid.uuid4().hex}", type=type_, ean="541448820000000017", energy="gas",
                      netbeheerder="fluvius", occurred_at=datetime.now(UTC), data=data)
        await self.handle.signal(EnergyCaseWorkflow.netbeheerder_callback, cb)

    async def step(self, name: str) -> None:
        """The OCMW step ``name``, with input that fits everything but (possibly) the phase."""
        today = await self.env.today()
        h, wf = self.handle, EnergyCaseWorkflow
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "supplier_ended_contract": lambda: h.execute_update(wf.supplier_event,
                                                                SupplierEvent(type="contract_ended", on=today)),
            "payment_received": lambda: h.execute_update(wf.supplier_event,
                                                         SupplierEvent(type="payment_received", on=today)),
            "payment_plan_agreed": lambda: h.execute_update(wf.supplier_event,
                                                            SupplierEvent(type="payment_plan_agreed", on=today)),
            "new_supplier_found": lambda: h.execute_update(wf.supplier_event,
                                                           SupplierEvent(type="new_supplier_found", on=today)),
            "request_prepayment": lambda: h.execute_update(wf.request_prepayment, PrepaymentRequest()),
            "lac_request": lambda: h.execute_update(wf.lac_request, LacRequest(hearing_on=today)),
            "lac_advice": lambda: h.execute_update(wf.lac_advice, LacAdvice(advice="refuse", on=today)),
            "winter_support_apply": lambda: h.execute_update(
                wf.winter_support_apply,
                WinterSupportApplication(average_monthly_winter_consumption_eur=Decimal("200.00"))),
            "winter_support_decision": lambda: h.execute_update(wf.winter_support_decision,
                                                                WinterSupportDecision(decision="approve")),
            "minimal_supply_restore_request": lambda: h.execute_update(wf.minimal_supply_restore_request,
                                                                       MinimalSupplyRestoreRequest()),
            "close": lambda: h.execute_update(wf.close, CloseEnergyCase(reason="moved")),
        }
        await steps[name]()


STEPS = ("supplier_ended_contract", "payment_received", "payment_plan_agreed", "new_supplier_found",
         "request_prepayment", "lac_request", "lac_advice", "minimal_supply_restore_request", "winter_support_apply",
         "winter_support_decision", "close")
# Steps that need an earlier step first (not a phase matter): the LAC's advice needs the LAC asked, a decision
# needs an application.
BEFORE = {"lac_advice": "lac_request", "winter_support_decision": "winter_support_apply"}
# Steps that need facts beyond the phase (minimal supply switched off on LAC advice, a debt reported): the phase lets
# them through to their own checks, which refuse here; tests/workflows/test_energy_paths.py takes them.
NEEDS_FACTS = {"minimal_supply_restore_request"}
CALLBACKS = {"takeover_confirmed": {}, "invoice_issued": {"invoice_id": "INV-1", "due_on": "2099-01-31"},
             "prepayment_activated": {}, "debt_paid": {"total_debt": "0.00"}, "customer_left": {}}
# How to bring a case to each open phase, from the notice period.
TO_PHASE: dict[str, list[str]] = {
    "notice_period": [],
    "awaiting_takeover": ["supplier_ended_contract"],
    "social_supplier": ["supplier_ended_contract", "takeover_confirmed"],
    "prepayment": ["supplier_ended_contract", "takeover_confirmed", "prepayment_activated"],
}


async def act(case: Case, action: str) -> None:
    if action in STEPS:
        await case.step(action)
    elif action == "debt_paid":
        await case.callback("debt_updated", **CALLBACKS[action])
    elif action in CALLBACKS:
        await case.callback(action, **CALLBACKS[action])
    else:
        raise AssertionError(action)


async def case_in(env: Env, phase: str) -> Case:
    case = await Case.open(env)
    for action in TO_PHASE[phase]:
        await act(case, action)
    await case.phase_becomes(phase)
    return case


def walk(phase: str, triggers: list[str]) -> list[str]:
    """The phases the table leads through from ``phase`` by ``triggers`` (each must be a row)."""
    out: list[str] = []
    for trigger in triggers:
        assert allows(phase, trigger), f"no row ({phase}, {trigger})"
        phase = TARGETS[trigger]
        out.append(phase)
    return out


# (from phase, what happens, the triggers the case goes through). A callback that implies an earlier step records
# that step first: those are the rows with more than one trigger.
DRIVEN: list[tuple[str, str, list[str]]] = [
    ("notice_period", "calendar", ["notice_period_expired"]),
    ("notice_period", "supplier_ended_contract", ["supplier_ended_contract"]),
    ("notice_period", "takeover_confirmed", ["takeover_reported", "takeover_confirmed"]),
    ("notice_period", "invoice_issued", ["takeover_reported", "takeover_inferred"]),
    ("notice_period", "prepayment_activated", ["takeover_reported", "takeover_inferred", "prepayment_activated"]),
    ("notice_period", "payment_received", ["payment_received"]),
    ("notice_period", "payment_plan_agreed", ["payment_plan_agreed"]),
    ("notice_period", "new_supplier_found", ["new_supplier_found"]),
    ("awaiting_takeover", "takeover_confirmed", ["takeover_confirmed"]),
    ("awaiting_takeover", "invoice_issued", ["takeover_inferred"]),
    ("awaiting_takeover", "prepayment_activated", ["takeover_inferred", "prepayment_activated"]),
    ("social_supplier", "prepayment_activated", ["prepayment_activated"]),
    *[(phase, action, [action]) for phase in OPEN for action in ("close", "debt_paid", "customer_left")],
]


def test_every_phase_change_of_the_table_is_driven_here() -> None:
    driven = set()
    for source, _, triggers in DRIVEN:
        driven |= set(zip([source, *walk(source, triggers)], triggers, strict=False))
    changes = {(t.source, t.trigger) for t in TRANSITIONS if t.source not in (START, t.target)}
    assert changes == driven


def test_a_trigger_leads_to_one_phase_and_closed_is_final() -> None:
    for t in TRANSITIONS:
        assert t.source != "closed"
        rows = [u for u in TRANSITIONS if u.trigger == t.trigger]
        if t.trigger in TARGETS:  # a phase-changing trigger: one target, never a row that stays
            assert all(u.target == TARGETS[t.trigger] != u.source for u in rows), t
        else:
            assert all(u.target == u.source for u in rows), t


async def test_opening_enters_the_notice_period(env: Env) -> None:
    case = await Case.open(env)
    assert (await case.state()).phase == walk(START, ["case_opened"])[-1]
    assert case.phases() == ["notice_period"]


@pytest.mark.parametrize(("source", "action", "triggers"), DRIVEN, ids=[f"{s}-{a}" for s, a, _ in DRIVEN])
async def test_each_phase_change_goes_where_the_table_says(env: Env, source: str, action: str,
                                                           triggers: list[str]) -> None:
    if action == "calendar":  # a notice of default long enough ago: the notice period is over at once
        case = await Case.open(env, notice_days_ago=90)
    else:
        case = await case_in(env, source)
        await act(case, action)
    expected = walk(source, triggers)
    await case.phase_becomes(expected[-1])
    entered = case.phases()
    assert entered[len(entered) - len(expected):] == expected
    ended = [t for t in triggers if TARGETS[t] == "awaiting_takeover"]
    assert case.because()[len(case.because()) - len(ended):] == ended


@pytest.mark.parametrize("phase", OPEN)
async def test_each_phase_takes_the_steps_of_the_table_and_refuses_the_others(env: Env, phase: str) -> None:
    refusing = await case_in(env, phase)
    for step in STEPS:
        if allows(phase, step):
            continue
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await refusing.step(step)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "StepOutOfOrder", (phase, step, refused.value.cause.message)
        assert (await refusing.state()).phase == phase
    for step in STEPS:
        if allows(phase, step) and step in NEEDS_FACTS:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await (await case_in(env, phase)).step(step)
            assert isinstance(refused.value.cause, ApplicationError)
            assert "nothing to restore" in refused.value.cause.message  # past the phase, refused by its own check
            continue
        if allows(phase, step) and TARGETS.get(step) is None:  # steps that leave the phase as it is
            taking = await case_in(env, phase)
            if step in BEFORE:
                await taking.step(BEFORE[step])
            await taking.step(step)
            assert (await taking.state()).phase == phase, step


async def test_closed_is_final_the_workflow_ends(env: Env) -> None:
    case = await case_in(env, "prepayment")
    await case.step("close")
    result = await case.handle.result()
    assert result.phase == "closed" and not any(t.source == "closed" for t in TRANSITIONS)
    assert appends_in_the_ending_task(await case.handle.fetch_history()) == 0  # the run ended in a quiet task


def test_the_table_renders_as_markdown() -> None:
    table = markdown_table()
    lines = table.splitlines()
    assert lines[0] == "| From | Trigger | To | By |" and lines[1] == "|---|---|---|---|"
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])
    assert {t.trigger for t in TRANSITIONS} == {line.split(" | ")[1].strip("`") for line in lines[2:]}
    assert "| `notice_period`, `awaiting_takeover`, `social_supplier`, `prepayment` | `close` | `closed` |" in table


def test_a_run_carries_everything_but_its_runtime_flags() -> None:
    inp = EnergyCaseInput(case_id="c", ocmw_id="o", ean="e", energy="gas", supplier="s", netbeheerder="n",
                          municipality_nis="44021", notice_of_default_on=date(2026, 11, 2), callback_url="u",
                          state=EnergyCaseState(case_id="c", ocmw_id="o", ean="e", energy="gas", supplier="s",
                                                netbeheerder="n", municipality_nis="44021", phase="prepayment",
                                                rule_set_id="r", notice_of_default_on=date(2026, 11, 2),
                                                notice_period_ends_on=date(2026, 12, 17)),
                          book=BOOK, stream_version=17, seen_event_ids=["a", "b"], request_seq=4,
                          debt_happened_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
                          early_payments={"INV-3": date(2026, 11, 21)})
    case = EnergyCase(inp, on_change=lambda: None)
    assert case.carry() == inp
    # What the case object holds is exactly what it carries (plus the wake-up hook) ...
    assert set(vars(case)) == {"inp", "writer", "book", "state", "seen", "request_seq", "debt_happened_at",
                               "early_payments", "_on_change"}
    # ... and the workflow holds nothing else but runtime flags: a new attribute has to be placed on purpose.
    assert set(vars(EnergyCaseWorkflow(inp))) == {"_case", "_opened", "_inbox", "_steps", "_wake", "_lock"}
