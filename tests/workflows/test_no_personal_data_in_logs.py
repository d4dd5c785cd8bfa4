"""No personal data in logs: every log record written during a full FBU case and an energy case is scanned."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver, ok
from vangnet.platform.logging import configure_logging

PERSONAL = ["Eloïse", "Janssens", "85073003328", "85.07.30-033.28", "BE71096123456769", "BE71 0961 2345 6769",
            "BE68539007547034", "Immo De Smet", "Sint-Pietersnieuwstraat", "Samira", "Benali", "Brugsesteenweg"]


async def test_a_full_case_writes_no_personal_data_to_the_logs(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "debug")  # the production renderer, with its redaction processor
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await eventually(lambda: d.claim(case_id, "initial"))
    await d.decide(claim["claim_id"], "reject", "Handtekening ontbreekt")
    await d.api.post(f"/v1/claims/{claim['claim_id']}/resubmit", json={"comment": "Aangevuld"}, headers=d.ocmw)
    await d.decide(claim["claim_id"], "approve")
    await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))
    await d.api.get(f"/v1/fbu/cases/{case_id}/documents/agreement", headers=d.ocmw)
    bad = {"tenant": {"name": "Eloïse Janssens", "national_number": "85.07.30-033.29", "iban": "BE71096123456769"}}
    assert (await d.api.post("/v1/fbu/cases", json=bad, headers=d.ocmw)).status_code == 422
    e = EnergyDriver(stack)
    energy_case, _ = await e.in_prepayment("gas")
    await ok(await e.api.get(f"/v1/energy/cases/{energy_case}/household", headers=e.ocmw))
    await eventually(lambda: d.claim(case_id, "initial", status="paid"))

    records = [r.getMessage() + " " + str(r.__dict__) for r in caplog.records]
    out, err = capfd.readouterr()
    text = "\n".join(records) + out + err
    assert records, "the test must capture some log records to mean anything"
    leaks = [p for p in PERSONAL if p in text]
    assert not leaks, f"personal data in logs: {leaks}"
    assert "step applied" in text and "payment booked" in text and "netbeheerder callback stored" in text
    logging.getLogger().removeHandler(caplog.handler)
