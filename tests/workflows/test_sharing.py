"""Nothing crosses an organisation boundary without a data-sharing policy, and consent where a policy needs it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver, callback
from tests.fbu_helpers import Driver, ok
from vangnet.security import sharing


@asynccontextmanager
async def without_policies(stack: Stack, flow: str) -> AsyncIterator[None]:
    """Take a flow's policies away for the block (the shared test database gets them back afterwards)."""
    saved = await stack.pool.fetch("SELECT * FROM sharing_policies WHERE flow = $1", flow)
    await stack.pool.execute("DELETE FROM sharing_policies WHERE flow = $1", flow)
    try:
        yield
    finally:
        for row in saved:
            values = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}
            await stack.pool.execute(
                "INSERT INTO sharing_policies SELECT * FROM jsonb_populate_record(null::sharing_policies, $1::jsonb)",
                json.dumps(values))


async def test_policies_are_managed_by_administrators(stack: Stack) -> None:
    admin = stack.token("admin")
    listed = await stack.api.get("/v1/admin/sharing-policies", headers=admin)
    assert listed.status_code == 200 and {p["flow"] for p in listed.json()} >= set(sharing.FLOWS)
    for role, org in (("ocmw", "ocmw-44021"), ("auditor", None), ("wonen-vlaanderen", None)):
        assert (await stack.api.get("/v1/admin/sharing-policies", headers=stack.token(role, org))).status_code == 403
    bad = {"flow": "ocmw-to-anyone", "from_org": "*", "to_org": "x", "legal_basis": "none at all",
           "agreement_ref": "none", "purpose": "curiosity", "data_categories": ["all"], "valid_from": "2026-01-01"}
    r = await stack.api.post("/v1/admin/sharing-policies", json=bad, headers=admin)
    assert r.status_code == 422 and "Unknown flow" in r.json()["detail"]
    assert r.json()["code"] == "invalid_input"  # the schema lists the flows
    backwards = {**bad, "flow": sharing.FBU_CLAIM, "valid_from": "2026-01-02", "valid_until": "2026-01-01"}
    r = await stack.api.post("/v1/admin/sharing-policies", json=backwards, headers=admin)
    assert (r.status_code, r.json()["code"]) == (422, "inconsistent_fields"), r.text
    assert "valid_until lies before valid_from" in r.json()["detail"]
    # maxLength counts the text as sent: surrounding spaces are stripped, but they do not make room.
    padded = {**bad, "flow": sharing.FBU_CLAIM, "to_org": " " * 100 + "x"}
    r = await stack.api.post("/v1/admin/sharing-policies", json=padded, headers=admin)
    assert (r.status_code, r.json()["errors"]) == (
        422, [{"field": "to_org", "message": "String should have at most 100 characters"}]), r.text
    assert not await stack.pool.fetchval("SELECT count(*) FROM sharing_policies WHERE to_org = 'x'")
    # A policy that exists but is not in force cannot be ended: 409 with its code, not the 404 of an unknown id.
    later = {**bad, "flow": sharing.FBU_CLAIM, "to_org": "later", "valid_from": "2099-01-01"}
    created = await stack.api.post("/v1/admin/sharing-policies", json=later, headers=admin)
    assert created.status_code == 201, created.text
    r = await stack.api.post(f"/v1/admin/sharing-policies/{created.json()['policy_id']}/end", headers=admin)
    assert (r.status_code, r.json()["code"]) == (409, "policy_not_in_force"), r.text
    r = await stack.api.post("/v1/admin/sharing-policies/pol-unknown/end", headers=admin)
    assert (r.status_code, r.json()["code"]) == (404, "not_found"), r.text
    await stack.pool.execute("DELETE FROM sharing_policies WHERE policy_id = $1", created.json()["policy_id"])


async def test_claims_without_a_policy_are_withheld_and_the_reason_is_given(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await eventually(lambda: d.claim(case_id, "initial"))
    async with without_policies(stack, sharing.FBU_CLAIM):
        page = await ok(await d.api.get("/v1/claims", headers=d.wv))
        assert all(c["case_id"] != case_id for c in page["items"])
        assert any("No valid data-sharing policy" in w["reason"] and w["ocmw_id"] == "ocmw-44021"
                   for w in page["withheld"])
        r = await d.api.get(f"/v1/claims/{claim['claim_id']}", headers=d.wv)
        assert r.status_code == 403 and sharing.FBU_CLAIM in r.json()["detail"]
        r = await d.api.post(f"/v1/claims/{claim['claim_id']}/decision", json={"decision": "approve"}, headers=d.wv)
        assert r.status_code == 403
    assert (await d.api.get(f"/v1/claims/{claim['claim_id']}", headers=d.wv)).status_code == 200


async def test_a_policy_that_needs_consent_shares_only_while_consent_stands(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await eventually(lambda: d.claim(case_id, "initial"))
    specific = {"flow": sharing.FBU_CLAIM, "from_org": "ocmw-44021", "to_org": "wonen-vlaanderen",
                "legal_basis": "Protocol with consent", "agreement_ref": "PROT-2026-7", "purpose": "fbu-claim",
                "data_categories": ["arrears"], "requires_consent": True, "valid_from": "2020-01-01"}
    made = await ok(await d.api.post("/v1/admin/sharing-policies", json=specific, headers=stack.token("admin")), 201)
    try:
        r = await d.api.get(f"/v1/claims/{claim['claim_id']}", headers=d.wv)
        assert r.status_code == 403 and "has not been recorded" in r.json()["detail"]
        await ok(await d.api.post(f"/v1/cases/{case_id}/consents", json={"purpose": "fbu-claim", "given": True},
                                  headers=d.ocmw), 201)
        assert (await d.api.get(f"/v1/claims/{claim['claim_id']}", headers=d.wv)).status_code == 200
        history = (await d.api.post(f"/v1/cases/{case_id}/consents",
                                    json={"purpose": "fbu-claim", "given": False, "note": "withdrawn by phone"},
                                    headers=d.ocmw)).json()
        assert [c["given"] for c in history] == [True, False]  # the withdrawal is recorded, nothing deleted
        r = await d.api.get(f"/v1/claims/{claim['claim_id']}", headers=d.wv)
        assert r.status_code == 403 and "was withdrawn" in r.json()["detail"]
        other = stack.token("ocmw", "ocmw-11002")
        assert (await d.api.get(f"/v1/cases/{case_id}/consents", headers=other)).status_code == 404
    finally:
        await stack.pool.execute("DELETE FROM sharing_policies WHERE policy_id = $1", made["policy_id"])


async def test_payment_signal_needs_a_policy(stack: Stack) -> None:
    e = EnergyDriver(stack)
    problem = callback(e.new_ean(), "invoice_unpaid", data={"invoice_id": "Z9", "municipality_nis": "44021"})
    async with without_policies(stack, sharing.PAYMENT_SIGNAL):
        r = await e.post_callback(problem)
        assert r.status_code == 202 and r.json()["status"] == "not_shared"
        assert sharing.PAYMENT_SIGNAL in r.json()["reason"]
    assert await stack.pool.fetchval("SELECT count(*) FROM ocmw_signals WHERE source_event_id = $1",
                                     problem["event_id"]) == 0
    stored = await stack.pool.fetchrow("SELECT signal_id, case_id FROM netbeheerder_callbacks WHERE event_id = $1",
                                       problem["event_id"])
    assert stored is not None and stored["signal_id"] is None  # stored, acknowledged, not shared
