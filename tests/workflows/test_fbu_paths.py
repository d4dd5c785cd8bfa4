"""Every path of domain.md §1 on the time-skipping server, driven through the API like an OCMW would."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from schemas.calendar import add_months
from tests.conftest import LiveServer, Stack, eventually
from tests.fbu_helpers import OTHER_OCMW, Driver, agreement_body, ok
from tests.history_checks import appends_in_the_ending_task, signals_sent


@pytest.fixture
def driver(stack: Stack) -> Driver:
    return Driver(stack)


async def wait_status(d: Driver, case_id: str, status: str) -> dict:
    async def probe():
        c = await d.case(case_id)
        return c if c["status"] == status else None

    return await eventually(probe)


async def test_signature_deadline_closes_the_case(driver: Driver) -> None:
    case_id = await driver.open()
    drafted = await driver.today()
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, drafted + timedelta(10)))
    await driver.step(case_id, "POST", "signatures", {"party": "tenant", "evidence": "signed"})
    case = await driver.case(case_id)
    assert {"kind": "signature_deadline", "due_on": (drafted + timedelta(30)).isoformat()} in case["deadlines"]
    await driver.sleep_days(29)
    assert (await driver.case(case_id))["status"] == "awaiting_signatures"
    await driver.sleep_days(3)
    case = await wait_status(driver, case_id, "closed")
    assert case["closing_reason"] == "signature_deadline_passed"
    # A late signature is refused with a clear 409 and changes nothing.
    r = await driver.api.post(f"/v1/fbu/cases/{case_id}/signatures", json={"party": "ocmw", "evidence": "late"},
                              headers=driver.ocmw)
    assert r.status_code == 409
    assert (await driver.event_types(case_id))[-1] == "CaseClosed"


async def test_landlord_refusal_ends_the_case_and_gives_the_vredegerecht_letter(driver: Driver) -> None:
    case_id = await driver.open()
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                                               (await driver.today()) + timedelta(10)))
    r = await driver.api.get(f"/v1/fbu/cases/{case_id}/documents/vredegerecht-letter", headers=driver.ocmw)
    assert r.status_code == 409
    await driver.step(case_id, "POST", "refusals", {"party": "landlord", "reason": "Wil naar de vrederechter"})
    case = await driver.case(case_id)
    assert case["status"] == "closed" and case["closing_reason"] == "signature_refused"
    assert case["refusal"]["party"] == "landlord"
    r = await driver.api.get(f"/v1/fbu/cases/{case_id}/documents/vredegerecht-letter", headers=driver.ocmw)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    r = await driver.api.get(f"/v1/fbu/cases/{case_id}/documents/agreement", headers=driver.ocmw)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert await driver.event_types(case_id) == ["CaseOpened", "AgreementDrafted", "SignatureRefused", "CaseClosed"]


async def test_tenant_refusal_gives_no_letter(driver: Driver) -> None:
    case_id = await driver.open()
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("0.00"), 3,
                                               (await driver.today()) + timedelta(10)))
    await driver.step(case_id, "POST", "refusals", {"party": "tenant", "reason": "Verhuist liever"})
    r = await driver.api.get(f"/v1/fbu/cases/{case_id}/documents/vredegerecht-letter", headers=driver.ocmw)
    assert r.status_code == 409


async def test_rejected_claim_is_corrected_resubmitted_and_paid_once(driver: Driver,
                                                                    payment_system: LiveServer) -> None:
    case_id, _ = await driver.in_force_case(arrears="1234.57", landlord_payment="234.57")
    claim = await eventually(lambda: driver.claim(case_id, "initial"))
    # 45% of 1234.57 = 555.5565 -> 555.56 (half-up); plus the 422.00 forfait.
    assert claim["amount"] == "977.56" and claim["attempt"] == 1
    r = await driver.api.post(f"/v1/claims/{claim['claim_id']}/decision", json={"decision": "reject"},
                              headers=driver.wv)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    await driver.decide(claim["claim_id"], "reject", "Handtekening verhuurder ontbreekt op het document")
    case = await driver.case(case_id)
    assert {p["status"] for p in case["payouts"]} == {"rejected"}
    # Only a rejected claim can be resubmitted, only by its own OCMW; a second decision is out of order.
    await driver.decide(claim["claim_id"], "approve", status=409)
    other = driver.stack.token("ocmw", OTHER_OCMW)
    r = await driver.api.post(f"/v1/claims/{claim['claim_id']}/resubmit", json={"comment": "x" * 5}, headers=other)
    assert r.status_code == 404
    r = await driver.api.post(f"/v1/claims/{claim['claim_id']}/resubmit",
                              json={"comment": "Getekende versie toegevoegd"}, headers=driver.ocmw)
    assert (await ok(r))["status"] == "claimed"
    claim = await eventually(lambda: driver.claim(case_id, "initial"))
    assert claim["attempt"] == 2
    await driver.decide(claim["claim_id"], "approve")

    async def paid():
        c = await driver.case(case_id)
        return c if all(p["status"] == "paid" for p in c["payouts"]) else None

    await eventually(paid)
    async with httpx.AsyncClient() as http:
        payments = (await http.get(f"{payment_system.url}/payments")).json()["payments"]
    mine = [p for p in payments if case_id in p["reference"]]
    assert [p["amount"] for p in mine] == ["977.56"]
    types = await driver.event_types(case_id)
    assert types.count("ClaimSubmitted") == 2 and types.count("ClaimRejected") == 1
    assert types.count("PayoutPaid") == 1
    # The claim told its case: rejected, claimed again, approved, paid. Not its first submission: the case had
    # recorded the claim as claimed when it started it.
    history = await driver.stack.env.client.get_workflow_handle(claim["claim_id"]).fetch_history()
    assert signals_sent(history) == 4


async def test_caps_bind_on_large_arrears(driver: Driver) -> None:
    case_id, _ = await driver.in_force_case(arrears="5000.00", landlord_payment="1316.00", rent="1000.00")
    case = await driver.case(case_id)
    assert [(p["kind"], p["amount"]) for p in case["payouts"]] == [("forfait", "422.00"), ("tranche_1", "1185.00")]
    await driver.step(case_id, "POST", "stable-housing", {"reason": "Huur weer stipt betaald"})
    case = await driver.case(case_id)
    assert case["payouts"][-1]["kind"] == "tranche_2" and case["payouts"][-1]["amount"] == "395.00"
    assert sum(Decimal(p["amount"]) for p in case["payouts"]) == Decimal("2002.00")


async def test_breach_is_detected_then_the_plan_is_amended_and_resigned(driver: Driver) -> None:
    case_id, body = await driver.in_force_case()
    first_due = date.fromisoformat(body["plan"][0]["due_on"])
    now = await driver.today()
    # 30 days late is still within the grace period ...
    await driver.sleep_days((first_due - now).days + 30)
    assert (await driver.case(case_id))["status"] == "in_force"
    # ... the 31st day is a breach.
    await driver.sleep_days(2)
    case = await wait_status(driver, case_id, "plan_breached")
    assert case["plan_progress"]["instalments"][0]["status"] == "breached"
    new_first = (await driver.today()) + timedelta(days=5)
    amended = agreement_body(Decimal("2400.00"), Decimal("600.00"), 9, new_first)
    step = await driver.draft(case_id, amended)
    assert step["status"] == "awaiting_signatures"
    case = await driver.case(case_id)
    assert case["agreement"]["version"] == 2 and case["agreement"]["signatures"] == []
    assert case["previous_agreements"][0]["version"] == 1
    await driver.sign_all(case_id)
    case = await driver.case(case_id)
    assert case["status"] == "in_force"
    assert len([p for p in case["payouts"] if p["kind"] == "tranche_1"]) == 1  # no second tranche 1
    types = await driver.event_types(case_id)
    assert "PlanBreached" in types and "AgreementAmended" in types and types.count("AgreementInForce") == 2


async def test_breach_then_stable_housing_pays_no_tranche_2(driver: Driver) -> None:
    case_id, body = await driver.in_force_case()
    first_due = date.fromisoformat(body["plan"][0]["due_on"])
    await driver.sleep_days((first_due - await driver.today()).days + 32)
    await wait_status(driver, case_id, "plan_breached")
    step = await driver.step(case_id, "POST", "stable-housing", {"reason": "Huurder woont nu bij familie"})
    assert step["status"] == "closed"
    case = await driver.case(case_id)
    assert case["closing_reason"] == "stable_housing_after_breach"
    assert [p["kind"] for p in case["payouts"]] == ["forfait", "tranche_1"]


async def test_breach_then_close(driver: Driver) -> None:
    case_id, body = await driver.in_force_case()
    await driver.step(case_id, "POST", "close", {"reason": "plan_breached"}, status=409)
    first_due = date.fromisoformat(body["plan"][0]["due_on"])
    await driver.sleep_days((first_due - await driver.today()).days + 32)
    await wait_status(driver, case_id, "plan_breached")
    await driver.step(case_id, "POST", "close", {"reason": "plan_breached", "note": "Geen contact meer"})
    case = await driver.case(case_id)
    assert case["status"] == "closed" and case["closing_reason"] == "plan_breached"
    handle = driver.stack.env.client.get_workflow_handle(case_id)

    async def ended() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(ended)  # right after the closing step, not at the plan's next check
    assert appends_in_the_ending_task(await handle.fetch_history()) == 0  # CaseClosed went out in an earlier task


async def test_six_kept_calendar_months_propose_stable_housing(driver: Driver) -> None:
    """Six kept monthly instalments are not enough: the plan must have been kept for 6 calendar months."""
    case_id, body = await driver.in_force_case(arrears="2400.00", landlord_payment="0.00", months=12)
    in_force_on = date.fromisoformat((await driver.case(case_id))["agreement"]["in_force_on"])
    for item in body["plan"][:6]:
        due = date.fromisoformat(item["due_on"])
        await driver.sleep_days((due - await driver.today()).days)
        await driver.step(case_id, "POST", "repayments", {"amount": item["amount"], "paid_on": item["due_on"]})
        assert (await driver.case(case_id))["stable_housing_proposed_on"] is None
    due = add_months(in_force_on, 6)
    await driver.sleep_days((due - await driver.today()).days - 1)
    assert (await driver.case(case_id))["stable_housing_proposed_on"] is None  # six instalments, not yet 6 months
    await driver.sleep_days(1)

    async def proposed():
        c = await driver.case(case_id)
        return c if c["stable_housing_proposed_on"] else None

    case = await eventually(proposed)
    assert case["stable_housing_proposed_on"] == due.isoformat()
    assert not case["plan_progress"]["completed"]
    assert "StableHousingProposed" in await driver.event_types(case_id)


async def test_quarterly_plan_kept_for_six_months_proposes_stable_housing(driver: Driver) -> None:
    """Two kept quarterly instalments over 6 calendar months: proposed on the day the months are full."""
    case_id = await driver.open(arrears="2400.00")
    first = (await driver.today()) + timedelta(days=10)
    plan = [{"due_on": add_months(first, 3 * i).isoformat(), "amount": "600.00"} for i in range(4)]
    await driver.draft(case_id, {"landlord_payment": "0.00", "plan": plan})
    await driver.sign_all(case_id)
    in_force_on = date.fromisoformat((await driver.case(case_id))["agreement"]["in_force_on"])
    for item in plan[:2]:
        due = date.fromisoformat(item["due_on"])
        await driver.sleep_days((due - await driver.today()).days)
        await driver.step(case_id, "POST", "repayments", {"amount": item["amount"], "paid_on": item["due_on"]})
    due = add_months(in_force_on, 6)
    await driver.sleep_days((due - await driver.today()).days)

    async def proposed():
        c = await driver.case(case_id)
        return c if c["stable_housing_proposed_on"] else None

    case = await eventually(proposed)
    assert case["stable_housing_proposed_on"] == due.isoformat()


async def test_a_late_instalment_restarts_the_six_months(driver: Driver) -> None:
    """The second instalment is paid 5 days late (within the grace days: no breach): the 6 months count again from
    that payment, so nothing is proposed 6 months after the entry into force."""
    case_id, body = await driver.in_force_case(arrears="2400.00", landlord_payment="0.00", months=12)
    in_force_on = date.fromisoformat((await driver.case(case_id))["agreement"]["in_force_on"])
    caught_up = date.fromisoformat(body["plan"][1]["due_on"]) + timedelta(days=5)
    for number, item in enumerate(body["plan"][:8]):
        paid_on = caught_up if number == 1 else date.fromisoformat(item["due_on"])
        await driver.sleep_days((paid_on - await driver.today()).days)
        await driver.step(case_id, "POST", "repayments", {"amount": item["amount"], "paid_on": paid_on.isoformat()})
    await driver.sleep_days((add_months(in_force_on, 6) - await driver.today()).days)
    case = await driver.case(case_id)
    assert case["status"] == "in_force" and case["stable_housing_proposed_on"] is None
    due = add_months(caught_up, 6)
    await driver.sleep_days((due - await driver.today()).days)

    async def proposed():
        c = await driver.case(case_id)
        return c if c["stable_housing_proposed_on"] else None

    assert (await eventually(proposed))["stable_housing_proposed_on"] == due.isoformat()
    proposal = [e for e in (await driver.api.get(f"/v1/fbu/cases/{case_id}/events", headers=driver.ocmw)).json()
                if e["type"] == "StableHousingProposed"]
    assert proposal[0]["data"]["kept_since"] == caught_up.isoformat() and proposal[0]["data"]["kept_months"] == 6


@pytest.mark.parametrize("reason", ["eviction_filed", "tenant_moved", "withdrawn"])
async def test_other_endings(driver: Driver, reason: str) -> None:
    case_id, _ = await driver.in_force_case()
    step = await driver.step(case_id, "POST", "close", {"reason": reason})
    assert step["status"] == "closed"
    case = await driver.case(case_id)
    assert case["closing_reason"] == reason
    await driver.step(case_id, "POST", "repayments", {"amount": "10.00", "paid_on": str(await driver.today())},
                      status=409)


async def test_bad_input_is_refused_with_clear_messages_and_nothing_applied(driver: Driver) -> None:
    api, h = driver.api, driver.ocmw
    from tests.fbu_helpers import open_body

    bad_nn = open_body()
    bad_nn["tenant"]["national_number"] = "85.07.30-033.29"
    r = await api.post("/v1/fbu/cases", json=bad_nn, headers=h)
    assert r.status_code == 422 and "national register number" in r.json()["detail"]
    bad_iban = open_body()
    bad_iban["landlord"]["iban"] = "BE68539007547035"
    assert (await api.post("/v1/fbu/cases", json=bad_iban, headers=h)).status_code == 422
    zero = open_body(arrears="0.00")
    assert (await api.post("/v1/fbu/cases", json=zero, headers=h)).status_code == 422
    future = open_body(since=(await driver.today()) + timedelta(days=400))
    r = await api.post("/v1/fbu/cases", json=future, headers=h)
    # well formed, refused by the rules: 409 with the business code (docs/api.md)
    assert r.status_code == 409 and r.json()["code"] == "date_in_future" and "future" in r.json()["detail"]
    social = await api.post("/v1/fbu/cases", json=open_body(market="social"), headers=h)
    assert social.status_code == 409 and social.json()["code"] == "not_eligible"
    assert "not eligible" in social.json()["detail"]
    unknown = open_body()
    unknown["tenant"]["favourite_colour"] = "blue"
    assert (await api.post("/v1/fbu/cases", json=unknown, headers=h)).status_code == 422
    assert (await api.get("/v1/fbu/cases", headers=h)).status_code == 200

    case_id = await driver.open()
    today = await driver.today()
    # Step out of order: a signature before any agreement.
    r = await api.post(f"/v1/fbu/cases/{case_id}/signatures", json={"party": "tenant", "evidence": "x" * 5},
                       headers=h)
    assert r.status_code == 409 and "no agreement" in r.json()["detail"].lower()
    # A plan that does not add up.
    wrong = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, today + timedelta(10))
    wrong["landlord_payment"] = "500.00"
    r = await api.put(f"/v1/fbu/cases/{case_id}/agreement", json=wrong, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_for_case"  # well formed, does not fit the case
    assert "must equal the arrears" in r.json()["detail"]
    # Instalments out of order: each field fits the schema, together they break a documented rule (422, its own code).
    backwards = agreement_body(Decimal("2400.00"), Decimal("600.00"), 2, today + timedelta(10))
    backwards["plan"].reverse()
    r = await api.put(f"/v1/fbu/cases/{case_id}/agreement", json=backwards, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "inconsistent_fields", r.text
    assert "distinct due dates, in order" in r.json()["detail"]
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, today + timedelta(10)))
    r = await api.post(f"/v1/fbu/cases/{case_id}/signatures",
                       json={"party": "neighbour", "evidence": "signed"}, headers=h)
    assert r.status_code == 422
    r = await api.post(f"/v1/fbu/cases/{case_id}/signatures",
                       json={"party": "tenant", "evidence": "signed", "signed_on": str(today + timedelta(3))},
                       headers=h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_for_case" and "future" in r.json()["detail"]
    await driver.step(case_id, "POST", "signatures", {"party": "tenant", "evidence": "signed"})
    r = await api.post(f"/v1/fbu/cases/{case_id}/signatures", json={"party": "tenant", "evidence": "again"},
                       headers=h)
    assert r.status_code == 409 and "already signed" in r.json()["detail"]
    r = await api.post(f"/v1/fbu/cases/{case_id}/repayments", json={"amount": "-5", "paid_on": str(today)},
                       headers=h)
    assert r.status_code == 422
    assert await driver.event_types(case_id) == ["CaseOpened", "AgreementDrafted", "AgreementSigned"]


async def test_repeated_request_with_the_same_idempotency_key_is_applied_once(driver: Driver) -> None:
    case_id, _ = await driver.in_force_case()
    today = str(await driver.today())
    first = await driver.step(case_id, "POST", "repayments", {"amount": "50.00", "paid_on": today}, key="rep-1")
    again = await driver.step(case_id, "POST", "repayments", {"amount": "50.00", "paid_on": today}, key="rep-1")
    assert first == again
    types = await driver.event_types(case_id)
    assert types.count("RepaymentRecorded") == 1
    # Opening twice with the same key gives the same case.
    h = {**driver.ocmw, "Idempotency-Key": "open-42"}
    from tests.fbu_helpers import open_body

    a = await ok(await driver.api.post("/v1/fbu/cases", json=open_body(), headers=h), 201)
    b = await ok(await driver.api.post("/v1/fbu/cases", json=open_body(), headers=h), 201)
    assert a == b


async def test_another_ocmw_sees_nothing(driver: Driver) -> None:
    case_id, _ = await driver.in_force_case()
    other = driver.stack.token("ocmw", OTHER_OCMW)
    for path in ("", "/events", "/documents/agreement"):
        assert (await driver.api.get(f"/v1/fbu/cases/{case_id}{path}", headers=other)).status_code == 404
    r = await driver.api.post(f"/v1/fbu/cases/{case_id}/close", json={"reason": "withdrawn"}, headers=other)
    assert r.status_code == 404
    listing = await ok(await driver.api.get("/v1/fbu/cases", headers=other))
    assert case_id not in [c["case_id"] for c in listing["items"]]
    assert (await driver.api.get("/v1/claims", headers=driver.ocmw)).status_code == 403
    assert (await driver.api.get(f"/v1/fbu/cases/{case_id}")).status_code == 401


async def test_rule_set_is_chosen_by_submission_date_not_opening_date(driver: Driver, rules_file: Path) -> None:
    """An operator adds a rule set that starts while a case waits for signatures: the claim uses the new set."""
    today = await driver.today()
    original = rules_file.read_text()
    book = json.loads(original)
    last = book["rule_sets"][-1]
    last["valid_until"] = str(today + timedelta(days=5))
    new = {**last, "id": "fbu-test-next", "valid_from": str(today + timedelta(days=6)), "valid_until": None,
           "forfait": "500.00", "tranche_1_pct": "0.50", "tranche_1_cap": "2000.00"}
    book["rule_sets"].append(new)
    rules_file.write_text(json.dumps(book))
    try:
        case_id = await driver.open()
        case = await driver.case(case_id)
        assert case["rule_set_id"] is None and case["eligibility_reasons"] == []
        await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, today + timedelta(20)))
        await driver.sleep_days(7)
        await driver.sign_all(case_id)
        case = await driver.case(case_id)
        assert case["rule_set_id"] == "fbu-test-next"
        assert [(p["amount"], p["rule_set_id"]) for p in case["payouts"]] == [
            ("500.00", "fbu-test-next"), ("1200.00", "fbu-test-next")]
    finally:
        rules_file.write_text(original)
