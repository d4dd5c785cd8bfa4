"""A whole FBU case on the time-skipping server, through the API, from opening to tranche 2 paid."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from schemas.calendar import brussels_date
from tests.conftest import Stack, eventually
from tests.fbu_helpers import OCMW, Driver, agreement_body, ok, open_body, sleep_until, workflow_exists
from tests.history_checks import local_activities_answering_last_update


async def today(stack: Stack):
    return brussels_date(await stack.env.get_current_time())


async def test_case_from_opening_to_tranche_2_paid(stack: Stack, payment_system) -> None:
    ocmw, wv = stack.token("ocmw", OCMW), stack.token("wonen-vlaanderen")
    api = stack.api
    case_id = (await ok(await api.post("/v1/fbu/cases", json=open_body(), headers=ocmw), 201))["case_id"]
    start = await today(stack)
    body = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, start + timedelta(days=10))
    step = await ok(await api.put(f"/v1/fbu/cases/{case_id}/agreement", json=body, headers=ocmw))
    assert step["status"] == "awaiting_signatures"
    for party in ("landlord", "tenant", "ocmw"):
        step = await ok(await api.post(f"/v1/fbu/cases/{case_id}/signatures",
                                       json={"party": party, "evidence": "signed at the OCMW"}, headers=ocmw))
    assert step["status"] == "in_force"

    case = await ok(await api.get(f"/v1/fbu/cases/{case_id}", headers=ocmw))
    assert case["rule_set_id"] == "fbu-2022"
    assert [(p["kind"], p["amount"], p["status"]) for p in case["payouts"]] == [
        ("forfait", "422.00", "claimed"), ("tranche_1", "1080.00", "claimed")]

    async def inbox_claim(kind: str):
        page = await ok(await api.get("/v1/claims", params={"status": "claimed"}, headers=wv))
        return next((c for c in page["items"] if c["case_id"] == case_id and c["claim_kind"] == kind), None)

    claim = await eventually(lambda: inbox_claim("initial"))
    assert claim["amount"] == "1502.00" and claim["rule_set_id"] == "fbu-2022"
    step = await ok(await api.post(f"/v1/claims/{claim['claim_id']}/decision",
                                   json={"decision": "approve"}, headers=wv))
    assert step["status"] == "approved"

    async def paid(kinds: set[str]):
        c = await ok(await api.get(f"/v1/fbu/cases/{case_id}", headers=ocmw))
        return c if {p["kind"] for p in c["payouts"] if p["status"] == "paid"} >= kinds else None

    await eventually(lambda: paid({"forfait", "tranche_1"}))

    # The tenant pays every instalment on its due date; the engine proposes stable housing when the plan is done.
    for item in body["plan"]:
        await sleep_until(stack.env, date.fromisoformat(item["due_on"]))
        await ok(await api.post(f"/v1/fbu/cases/{case_id}/repayments",
                                json={"amount": item["amount"], "paid_on": item["due_on"]}, headers=ocmw))
    await stack.env.sleep(timedelta(days=2))

    async def proposed():
        c = await ok(await api.get(f"/v1/fbu/cases/{case_id}", headers=ocmw))
        return c if c["stable_housing_proposed_on"] else None

    case = await eventually(proposed)
    assert case["plan_progress"]["completed"] is True
    assert case["plan_progress"]["consecutive_kept"] == 6

    step = await ok(await api.post(f"/v1/fbu/cases/{case_id}/stable-housing",
                                   json={"reason": "Plan completed, rent paid on time"}, headers=ocmw))
    assert step["status"] == "stable_housing"
    claim2 = await eventually(lambda: inbox_claim("tranche_2"))
    assert claim2["amount"] == "360.00"
    await ok(await api.post(f"/v1/claims/{claim2['claim_id']}/decision", json={"decision": "approve"}, headers=wv))

    async def closed():
        c = await ok(await api.get(f"/v1/fbu/cases/{case_id}", headers=ocmw))
        return c if c["status"] == "closed" else None

    case = await eventually(closed)
    assert case["closing_reason"] == "completed"

    events = await ok(await api.get(f"/v1/fbu/cases/{case_id}/events", headers=ocmw))
    types = [e["type"] for e in events]  # type: ignore[index]
    assert types[:5] == ["CaseOpened", "AgreementDrafted", "AgreementSigned", "AgreementSigned", "AgreementSigned"]
    for expected in ("AgreementInForce", "ClaimSubmitted", "ClaimApproved", "PayoutPaid", "RepaymentRecorded",
                     "StableHousingProposed", "StableHousingDeclared", "CaseClosed"):
        assert expected in types
    assert types.count("PayoutPaid") == 2 and types[-1] == "CaseClosed"

    payments = (await ok(await __import__("httpx").AsyncClient().get(
        f"{payment_system.url}/payments", params={"beneficiary": OCMW})))["payments"]
    refs = [p for p in payments if case_id in p["reference"]]
    assert sorted(p["amount"] for p in refs) == ["1502.00", "360.00"]


async def test_the_third_signature_submits_the_claim_in_its_own_append(stack: Stack) -> None:
    """The step appends its signature, the entry into force, the claim on the case's stream and the claim's first
    event on the claim's stream together, and starts no workflow (patches fbu-one-append-into-force,
    fbu-claim-terms-in-one-lookup, fbu-claims-submitted-by-the-case): Wonen-Vlaanderen sees the claim at the
    answer, and its first decision starts the claim's workflow."""
    from temporalio.api.enums.v1 import EventType

    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    case = await d.case(case_id)
    assert case["status"] == "in_force"
    assert {p["status"] for p in case["payouts"]} == {"claimed"}  # the claim is in the log at the answer
    claim = await d.claim(case_id, "initial")  # no waiting: in the inbox at the answer
    assert claim is not None and claim["amount"] == "1502.00" and claim["attempt"] == 1
    rows = await stack.pool.fetch(
        "SELECT stream, stream_version, type, recorded_at FROM domain_events WHERE case_id = $1 ORDER BY position",
        case_id)
    last_four = rows[-4:]
    assert [r["type"] for r in last_four] == ["AgreementSigned", "AgreementInForce", "PayoutsClaimed",
                                              "ClaimSubmitted"]
    assert (last_four[-1]["stream"], last_four[-1]["stream_version"]) == (claim["claim_id"], 1)
    assert len({r["recorded_at"] for r in last_four}) == 1  # one append: one transaction's now()
    assert rows[-5]["recorded_at"] != last_four[0]["recorded_at"]

    history = await stack.env.client.get_workflow_handle(case_id).fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED not in kinds
    # Two local activities in the answering task: the claim's terms (rule set and landlord payment day) and the
    # one append (patch fbu-claim-terms-in-one-lookup).
    assert local_activities_answering_last_update(history) == ["fbu_claim_terms", "append_events"]
    assert not await workflow_exists(stack.env.client, claim["claim_id"])  # none before any decision

    await d.decide(claim["claim_id"], "approve")
    paid = await eventually(lambda: d.claim(case_id, "initial", status="paid"), within=30)
    assert paid["payment_id"]
    claim_events = await stack.pool.fetch(
        "SELECT stream_version, type FROM domain_events WHERE stream = $1 ORDER BY stream_version", claim["claim_id"])
    assert [(r["stream_version"], r["type"]) for r in claim_events] == [
        (1, "ClaimSubmitted"), (2, "ClaimApproved"), (3, "PayoutPaid")]
