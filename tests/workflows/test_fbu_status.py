"""The FBU status table is what the workflow does: every transition it applies is a row, every row is walked
on the time-skipping server through the API, and every step the table refuses in a status answers 409."""

from __future__ import annotations

import ast
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.fbu import FbuCaseInput
from tests.conftest import eventually
from tests.fbu_helpers import OCMW, Driver, agreement_body
from workflows import fbu_status
from workflows.fbu_case import FbuCaseWorkflow
from workflows.fbu_status import OPEN, TRANSITIONS

ROWS = {(t.source, t.step, t.target) for t in TRANSITIONS}
WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def test_every_status_is_reached_and_every_open_status_can_end() -> None:
    reached, frontier = {"draft"}, ["draft"]
    while frontier:
        status = frontier.pop()
        for t in TRANSITIONS:
            if t.source == status and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == {*OPEN, "closed"}
    assert not [t for t in TRANSITIONS if t.source == "closed"]
    assert all(fbu_status.allows(s, "close") for s in OPEN)
    assert len(ROWS) == len(TRANSITIONS), "a row is listed twice"


def test_the_markdown_has_one_line_per_row() -> None:
    lines = fbu_status.markdown().splitlines()
    assert lines[0] == "| From | Step | To | When |"
    assert len(lines) == 2 + len(TRANSITIONS)
    assert "| `plan_breached` | `declare_stable_housing` | `closed` |" in fbu_status.markdown()


def _moves_in_code() -> set[tuple[str, str]]:
    """(step, target) of every ``_move(step, target)`` and ``_close(step, ...)`` the workflow code makes."""
    found: set[tuple[str, str]] = set()
    for source in WORKFLOWS.glob("fbu_*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
                if node.func.attr == "_move":
                    found.add((str(args[0]), str(args[1])))
                elif node.func.attr == "_close":
                    found.add((str(args[0]), "closed"))
    return found


def test_the_workflow_moves_only_along_the_table() -> None:
    """Every status change in the code names a row; the steps passed on in a variable are the lapse's and the
    close update's."""
    table = {(t.step, t.target) for t in TRANSITIONS if t.source != t.target}
    through_a_variable = {("refuse", "closed"), ("refuse", "in_force"), ("signature_deadline", "closed"),
                          ("signature_deadline", "in_force"), ("close", "closed"), ("close_plan_breached", "closed")}
    constant = {m for m in _moves_in_code() if m[0] != "None"}
    assert constant <= table
    assert constant | through_a_variable == table


# ---- the walk -------------------------------------------------------------------------------------------

PROBES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "draft_agreement": ("PUT", "agreement", {}),  # body filled in per case
    "sign": ("POST", "signatures", {"party": "ocmw", "evidence": "probe"}),
    "refuse": ("POST", "refusals", {"party": "ocmw", "reason": "probe"}),
    "record_repayment": ("POST", "repayments", {"amount": "1.00", "paid_on": ""}),
    "declare_stable_housing": ("POST", "stable-housing", {"reason": "probe"}),
    "close_plan_breached": ("POST", "close", {"reason": "plan_breached"}),
}


class Walk:
    def __init__(self, driver: Driver) -> None:
        self.d = driver
        self.seen: set[tuple[str, str, str]] = set()
        self.probed: set[str] = set()

    def saw(self, source: str, step: str, target: str) -> None:
        assert (source, step, target) in ROWS, f"not in the table: {source} --{step}--> {target}"
        self.seen.add((source, step, target))

    async def probe(self, case_id: str, status: str) -> None:
        """Every OCMW step the table refuses in ``status`` answers 409, and changes nothing."""
        if status in self.probed:
            return
        self.probed.add(status)
        today = str(await self.d.today())
        for step, (method, path, body) in PROBES.items():
            if fbu_status.allows(status, step):  # type: ignore[arg-type]
                continue
            if step == "draft_agreement":
                body = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                                      (await self.d.today()) + timedelta(days=10))
            if step == "record_repayment":
                body = {**body, "paid_on": today}
            await self.d.step(case_id, method, path, body, status=409)
        assert (await self.d.case(case_id))["status"] == status

    async def step(self, case_id: str, step: str, method: str, path: str, body: dict[str, Any], source: str,
                   target: str) -> None:
        await self.probe(case_id, source)
        result = await self.d.step(case_id, method, path, body)
        assert result["status"] == target, (step, result)
        self.saw(source, step, target)
        await self.probe(case_id, target)

    async def draft(self, case_id: str, source: str, first_due_in: int = 10) -> None:
        body = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                              (await self.d.today()) + timedelta(days=first_due_in))
        await self.step(case_id, "draft_agreement", "PUT", "agreement", body, source, "awaiting_signatures")

    async def sign_all(self, case_id: str, parties: tuple[str, ...] = ("tenant", "landlord", "ocmw")) -> None:
        for n, party in enumerate(parties):
            target = "in_force" if len(parties) == 3 and n == 2 else "awaiting_signatures"
            await self.step(case_id, "sign", "POST", "signatures", {"party": party, "evidence": "signed"},
                            "awaiting_signatures", target)

    async def in_force(self) -> str:
        case_id = await self.d.open()
        await self.draft(case_id, "draft")
        await self.sign_all(case_id)
        return case_id

    async def repay(self, case_id: str, status: str, amount: str = "300.00") -> None:
        body = {"amount": amount, "paid_on": str(await self.d.today())}
        await self.step(case_id, "record_repayment", "POST", "repayments", body, status, status)

    async def close(self, case_id: str, source: str, reason: str = "withdrawn") -> None:
        step = "close_plan_breached" if reason == "plan_breached" else "close"
        await self.step(case_id, step, "POST", "close", {"reason": reason}, source, "closed")

    async def until_status(self, case_id: str, status: str) -> None:
        async def probe() -> bool:
            return bool((await self.d.case(case_id))["status"] == status)

        await eventually(probe)


async def test_every_row_of_the_table_is_walked(stack: Any, rules_file: Path) -> None:
    d = Driver(stack)
    w = Walk(d)

    # Opening: an ineligible case (the API refuses to open one; the workflow checks again) ends at once.
    ineligible = await stack.env.client.start_workflow(
        FbuCaseWorkflow.run,
        FbuCaseInput(case_id=f"fbu-{uuid.uuid4().hex}", ocmw_id=OCMW, rental_market="social",
                     municipality_nis="44021", monthly_rent=Decimal("800.00"), arrears_amount=Decimal("2400.00"),
                     arrears_since=await d.today() - timedelta(days=60)),
        id=f"fbu-{uuid.uuid4().hex}", task_queue=stack.task_queue)
    ended = await ineligible.result()
    assert (ended.status, ended.closing_reason) == ("closed", "ineligible")
    w.saw("draft", "open", "closed")

    # Signatures: a redraft, a signature, a refusal of version 1; closing before and during signatures.
    refused = await d.open()
    await w.draft(refused, "draft")
    await w.draft(refused, "awaiting_signatures")
    await w.sign_all(refused, ("tenant",))
    await w.step(refused, "refuse", "POST", "refusals", {"party": "landlord", "reason": "Liever naar de rechter"},
                 "awaiting_signatures", "closed")
    await w.close(await d.open(), "draft")
    awaiting = await d.open()
    await w.draft(awaiting, "draft")
    await w.close(awaiting, "awaiting_signatures")
    unsigned = await d.open()
    await w.draft(unsigned, "draft")

    # In force: repayments, amendments that are refused or lapse, stable housing, closing.
    main = await w.in_force()
    await w.repay(main, "in_force")
    await w.draft(main, "in_force")
    await w.repay(main, "awaiting_signatures")
    await w.step(main, "refuse", "POST", "refusals", {"party": "tenant", "reason": "Niet akkoord"},
                 "awaiting_signatures", "in_force")
    await w.draft(main, "in_force")
    breached = [await w.in_force() for _ in range(4)]
    stable = await w.in_force()
    await w.step(stable, "declare_stable_housing", "POST", "stable-housing", {"reason": "Huur op tijd betaald"},
                 "in_force", "stable_housing")
    await w.repay(stable, "stable_housing")
    stable_closed = await w.in_force()
    await w.step(stable_closed, "declare_stable_housing", "POST", "stable-housing", {"reason": "Huur betaald"},
                 "in_force", "stable_housing")
    await w.close(stable_closed, "stable_housing", "tenant_moved")
    await w.close(await w.in_force(), "in_force", "eviction_filed")

    # Time: the signature deadlines pass (version 1 ends the case, the amendment lapses), instalments are missed.
    await d.sleep_days(32)
    await w.until_status(unsigned, "closed")
    w.saw("awaiting_signatures", "signature_deadline", "closed")
    await w.until_status(main, "in_force")
    assert "AgreementAmendmentLapsed" in await d.event_types(main)
    w.saw("awaiting_signatures", "signature_deadline", "in_force")
    await d.sleep_days(12)
    for case_id in breached:
        await w.until_status(case_id, "plan_breached")
        w.saw("in_force", "plan_check", "plan_breached")
    await w.step(breached[0], "declare_stable_housing", "POST", "stable-housing", {"reason": "Bij familie"},
                 "plan_breached", "closed")
    await w.repay(breached[1], "plan_breached")
    await w.close(breached[1], "plan_breached")
    await w.close(breached[2], "plan_breached", "plan_breached")
    await w.draft(breached[3], "plan_breached")

    # Tranche 2 paid completes the case.
    claim = await eventually(lambda: d.claim(stable, "tranche_2"))
    await d.decide(claim["claim_id"], "approve")
    await w.until_status(stable, "closed")
    assert (await d.case(stable))["closing_reason"] == "completed"
    w.saw("stable_housing", "tranche_2_paid", "closed")

    # Submission: a rule set that starts while the case waits for signatures no longer covers these arrears.
    today = await d.today()
    original = rules_file.read_text()
    book = json.loads(original)
    last = book["rule_sets"][-1]
    last["valid_until"] = str(today + timedelta(days=5))
    book["rule_sets"].append({**last, "id": "fbu-test-stricter", "valid_from": str(today + timedelta(days=6)),
                              "valid_until": None, "arrears_since_earliest": str(today)})
    rules_file.write_text(json.dumps(book))
    try:
        late = await d.open()
        await w.draft(late, "draft", first_due_in=20)
        await d.sleep_days(7)
        await d.step(late, "POST", "signatures", {"party": "tenant", "evidence": "signed"})
        await d.step(late, "POST", "signatures", {"party": "landlord", "evidence": "signed"})
        await d.step(late, "POST", "signatures", {"party": "ocmw", "evidence": "signed"})
        case = await d.case(late)
        assert (case["status"], case["closing_reason"]) == ("closed", "ineligible")
        assert "AgreementInForce" in await d.event_types(late)
        w.saw("in_force", "submit_claim", "closed")
    finally:
        rules_file.write_text(original)

    assert w.seen == ROWS, f"not walked: {sorted(ROWS - w.seen)}"
    assert w.probed == {*OPEN, "closed"}
