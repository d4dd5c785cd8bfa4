"""Case pages come from the event log: the document equals the workflow's own state (asked here through the
debugging query, never by the API), and each step's effect is readable as soon as the step has answered."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import Any

from schemas.energy import EnergyCaseState
from schemas.fbu import FbuCaseState
from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver, callback
from tests.fbu_helpers import Driver, ok
from workflows.energy_case import EnergyCaseWorkflow
from workflows.fbu_case import FbuCaseWorkflow

API = Path(__file__).resolve().parents[2] / "api"


async def fbu_equal(stack: Stack, d: Driver, case_id: str) -> dict[str, Any]:
    """The API's answer (document) and the workflow's state are the same case."""
    page = await d.case(case_id)
    state = await stack.env.client.get_workflow_handle(case_id).query(FbuCaseWorkflow.state)
    assert FbuCaseState.model_validate(page) == state
    return page


async def test_fbu_document_follows_the_workflow_step_by_step(stack: Stack) -> None:
    d = Driver(stack)
    case_id, body = await d.in_force_case(arrears="3000.00", landlord_payment="600.00", months=4)
    page = await fbu_equal(stack, d, case_id)
    # Read-your-writes: the step that put the agreement in force also claimed the payouts, readable at once.
    assert page["status"] == "in_force" and [p["kind"] for p in page["payouts"]] == ["forfait", "tranche_1"]
    assert {dl["kind"] for dl in page["deadlines"]} == {"landlord_payment", "next_instalment"}
    assert page["plan_progress"]["remaining"] == "2400.00"

    claim = await eventually(lambda: d.claim(case_id, "initial"))
    await d.decide(claim["claim_id"], "approve")
    await eventually(lambda: d.claim(case_id, "initial", status="paid"))

    async def both_paid() -> bool:
        state = await stack.env.client.get_workflow_handle(case_id).query(FbuCaseWorkflow.state)
        return all(p.status == "paid" for p in state.payouts)

    await eventually(both_paid)
    page = await fbu_equal(stack, d, case_id)
    assert all(p["payment_id"] for p in page["payouts"])

    first = body["plan"][0]
    await d.sleep_days(11)  # the first instalment (due in 10 days) is now past
    await d.step(case_id, "POST", "repayments", {"amount": first["amount"], "paid_on": first["due_on"]})
    page = await fbu_equal(stack, d, case_id)
    assert page["plan_progress"]["repaid_total"] == first["amount"]
    assert page["plan_progress"]["instalments"][0]["status"] == "kept"

    await d.draft(case_id, body)  # an amendment (same terms): three signatures needed again
    page = await fbu_equal(stack, d, case_id)
    assert page["agreement"]["version"] == 2 and [a["version"] for a in page["previous_agreements"]] == [1]
    await d.step(case_id, "POST", "refusals", {"party": "landlord", "reason": "wil de oude regeling houden"})
    page = await fbu_equal(stack, d, case_id)  # the amendment lapsed: version 1 is in force again
    assert page["agreement"]["version"] == 1 and page["previous_agreements"] == [] and page["status"] == "in_force"

    await d.step(case_id, "POST", "stable-housing", {"reason": "huur stipt betaald"})
    page = await fbu_equal(stack, d, case_id)
    assert page["status"] == "stable_housing" and page["payouts"][-1]["kind"] == "tranche_2"


async def test_a_refused_case_and_its_letter_need_no_workflow_state(stack: Stack) -> None:
    d = Driver(stack)
    case_id = await d.open()
    await d.draft(case_id, {"landlord_payment": "400.00", "plan": [
        {"due_on": str(await d.today() + timedelta(days=20)), "amount": "2000.00"}]})
    await d.step(case_id, "POST", "refusals", {"party": "landlord", "reason": "Wil naar de vrederechter"})
    page = await fbu_equal(stack, d, case_id)
    assert page["status"] == "closed" and page["closing_reason"] == "signature_refused"
    assert page["refusal"]["party"] == "landlord" and page["deadlines"] == []
    letter = await d.api.get(f"/v1/fbu/cases/{case_id}/documents/vredegerecht-letter", headers=d.ocmw)
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")


async def test_energy_document_follows_the_workflow(stack: Stack) -> None:
    e = EnergyDriver(stack)
    case_id, code = await e.open("gas")

    async def equal() -> dict[str, Any]:
        page = await e.case(case_id)
        state = await stack.env.client.get_workflow_handle(case_id).query(EnergyCaseWorkflow.state)
        assert EnergyCaseState.model_validate(page) == state
        return page

    page = await equal()
    assert page["phase"] == "notice_period" and page["ean"] == code
    assert [dl["kind"] for dl in page["deadlines"]] == ["contract_ends"]
    await e.step(case_id, "supplier-events", {"type": "contract_ended", "on": str(await e.today())})
    await e.wait_for(case_id, "SocialSupplierTookOver")
    due = await e.today() + timedelta(days=14)
    body = callback(code, "invoice_issued", data={"invoice_id": "F-1", "due_on": str(due), "amount": "88.10"})
    assert (await e.post_callback(body)).status_code == 202
    await e.wait_for(case_id, "InvoiceIssued")
    page = await equal()
    assert page["invoices"] == [{"invoice_id": "F-1", "amount": "88.10", "due_on": str(due), "paid": False,
                                 "prepayment_requested": False, "rule_set_id": "energy-2022-07",
                                 "prepayment_after_unpaid_days": 20}]  # the rule set of the due date
    assert "prepayment_activation" in {dl["kind"] for dl in page["deadlines"]}
    step = await e.step(case_id, "lac-requests", {"hearing_on": str(await e.today() + timedelta(days=9))})
    page = await equal()  # read-your-writes: the step answered, the page shows it
    assert step["status"] == page["phase"] and page["lac"]["hearing_on"] == str(await e.today() + timedelta(days=9))
    await e.step(case_id, "close", {"reason": "moved"})
    page = await equal()
    assert page["phase"] == "closed" and page["closing_reason"] == "moved" and page["deadlines"] == []
    timeline = await ok(await e.api.get(f"/v1/energy/cases/{case_id}/timeline", headers=e.ocmw))
    assert timeline["upcoming"] == [] and timeline["events"][-1]["type"] == "CaseClosed"


def test_no_request_path_asks_a_workflow_query() -> None:
    """Every GET answers from PostgreSQL: the API package never calls a workflow query."""
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("query", "run_query"):
                raise AssertionError(f"{path.name}:{node.lineno} asks a workflow query")
