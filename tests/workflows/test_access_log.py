"""Every read of personal data lands in the append-only access log, which only the auditor reads."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import OTHER_OCMW, Driver, ok


async def test_reads_of_personal_data_are_logged_for_the_auditor(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    auditor = stack.token("auditor")
    parties = await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))
    assert parties["tenant"]["national_number"] == "85073003328"
    assert (await d.api.get(f"/v1/fbu/cases/{case_id}/documents/agreement", headers=d.ocmw)).status_code == 200
    # Refused reads are not reads: nothing is logged for them.
    assert (await d.api.get(f"/v1/fbu/cases/{case_id}/parties",
                            headers=stack.token("ocmw", OTHER_OCMW))).status_code == 404
    assert (await d.api.get(f"/v1/fbu/cases/{case_id}/parties",
                            headers=stack.token("wonen-vlaanderen"))).status_code == 403
    response = await d.api.get("/v1/audit/access", params={"case": case_id}, headers=auditor)
    assert response.status_code == 200
    log: list[dict] = response.json()
    assert [e["route"] for e in log] == ["GET /v1/fbu/cases/{id}/documents/agreement",
                                         "GET /v1/fbu/cases/{id}/parties"]
    newest, oldest = log
    assert oldest["org"] == "ocmw-44021" and oldest["role"] == "ocmw" and oldest["purpose"] == "case_work"
    assert "tenant.national_number" in oldest["fields"] and "tenant.national_number" not in newest["fields"]
    text = str(log)
    assert "85073003328" not in text and "Janssens" not in text  # the log names fields, never their values
    for role, org in (("ocmw", "ocmw-44021"), ("wonen-vlaanderen", None), ("admin", None)):
        r = await d.api.get("/v1/audit/access", params={"case": case_id}, headers=stack.token(role, org))
        assert r.status_code == 403


async def test_energy_household_reads_are_logged(stack: Stack) -> None:
    e = EnergyDriver(stack)
    case_id, _ = await e.open("gas")
    household = await ok(await e.api.get(f"/v1/energy/cases/{case_id}/household", headers=e.ocmw))
    assert household["name"] == "Samira Benali"
    assert (await e.api.get(f"/v1/energy/cases/{case_id}/household",
                            headers=stack.token("netbeheerder", "fluvius"))).status_code == 403
    log: list[dict] = (await e.api.get("/v1/audit/access", params={"case": case_id},
                                       headers=stack.token("auditor"))).json()
    assert len(log) == 1 and log[0]["fields"] == ["name", "national_number", "address"]


async def test_the_access_log_cannot_be_changed(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await stack.pool.execute("UPDATE access_log SET subject = 'someone else' WHERE case_id = $1", case_id)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await stack.pool.execute("DELETE FROM access_log WHERE case_id = $1", case_id)
