"""``scripts/drive_energy_case.py`` against a real ``vangnet dev``: the netbeheerder simulator and Vangnet carry a
gas case from notice of default to prepayment activation over HTTP, every callback signed; a forged one is refused."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.energy_helpers import OCMW, callback, signed
from tests.integration.helpers import Dev, run_cli, stop_and_check, workspace

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ctrl_c_reaches_children")]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drive_energy_case.py"
EXPECTED = ["DefaultNoticeSent", "NoticePeriodStarted", "ContractEnded", "SocialSupplierTookOver",
            "PrepaymentActivationRequested", "PrepaymentActivated", "EmergencyCreditGranted"]


def test_drive_script_takes_a_gas_case_to_prepayment_with_signed_callbacks() -> None:
    with workspace() as ws:
        dev = Dev(ws)
        try:
            dev.wait_healthy(90)
            start = time.monotonic()
            # the workspace environment carries VANGNET_VAR_DIR (the token key), VANGNET_API_PORT and
            # VANGNET_NETBEHEERDER_SIM_PORT: the script finds the API and the simulator by their defaults
            result = subprocess.run([sys.executable, str(SCRIPT), "--timeout", "60"], cwd=ws.cwd, env=ws.env(),
                                    capture_output=True, text=True, timeout=300, check=False)
            took = time.monotonic() - start
            assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}\n{dev.tail()}"
            out = result.stdout
            steps = [line for line in out.splitlines() if line.startswith("✓ ")]
            assert len(steps) == 8, out
            assert "✓ emergency credit granted: 75.00 eur (index not set: the unindexed base)" in out, out
            match = re.search(r"^Case (nrg-[0-9a-f]{32}): phase prepayment, gas EAN ([0-9]{18}),", out, re.MULTILINE)
            assert match, out
            case_id, ean = match.groups()

            token = run_cli(ws, "token", "--role", "ocmw", "--org", OCMW)
            assert token.returncode == 0, token.stderr
            with httpx.Client(base_url=ws.api_url, timeout=10,
                              headers={"Authorization": f"Bearer {token.stdout.strip()}"}) as api:
                r = api.get(f"/v1/energy/cases/{case_id}")
                assert r.status_code == 200, r.text
                case = r.json()
                assert (case["phase"], case["emergency_credit"], case["prepayment_active"]) == (
                    "prepayment", "75.00", True), case
                assert case["energy"] == "gas" and case["ean"] == ean

                r = api.get(f"/v1/energy/cases/{case_id}/events")
                assert r.status_code == 200, r.text
                types = [e["type"] for e in r.json()]
                ours = [t for t in types if t in EXPECTED]
                assert ours == EXPECTED, types  # each exactly once, in this order
                requested = next(e for e in r.json() if e["type"] == "PrepaymentActivationRequested")
                assert requested["data"]["reason"] == "customer_request"

                # the simulator's own record: every callback for this EAN signed, and answered 202 by Vangnet
                sim = httpx.get(f"http://127.0.0.1:{ws.ports['netbeheerder']}/v1/callbacks", timeout=10)
                assert sim.status_code == 200, sim.text
                sent = [c for c in sim.json()["callbacks"] if c["callback"]["ean"] == ean]
                assert sorted(c["type"] for c in sent) == sorted(
                    ["takeover_confirmed", "prepayment_activated", "emergency_credit_granted"]), sent
                assert all(c["status"] in (200, 202) and c["delivered"] for c in sent), sent

                # a callback signed with the wrong secret is refused and changes nothing
                raw, headers = signed(callback(ean, "customer_left"), secret="not-the-fluvius-secret")
                forged = api.post("/v1/integrations/netbeheerder/callbacks", content=raw, headers=headers)
                assert forged.status_code == 401, forged.text
                assert api.get(f"/v1/energy/cases/{case_id}").json()["phase"] == "prepayment"
            stop_and_check(dev, list(ws.ports.values()))
        finally:
            dev.kill()
    print(f"drive energy script: {took:.1f} s")
