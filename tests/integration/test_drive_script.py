"""``scripts/drive_fbu_case.py`` against a real ``vangnet dev``: one FBU case over HTTP, opening to tranche 2 paid,
and exactly the two payments the rule set fbu-2022 prescribes in the payment simulator's ledger."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fbu_helpers import OCMW
from tests.integration.helpers import Dev, payments, run_cli, stop_and_check, workspace

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ctrl_c_reaches_children")]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drive_fbu_case.py"


def test_drive_script_takes_a_case_to_tranche_2_paid() -> None:
    with workspace() as ws:
        dev = Dev(ws)
        try:
            dev.wait_healthy(90)
            start = time.monotonic()
            # the workspace environment carries VANGNET_VAR_DIR (the token key) and VANGNET_API_PORT
            result = subprocess.run([sys.executable, str(SCRIPT), "--api", ws.api_url, "--timeout", "60"],
                                    cwd=ws.cwd, env=ws.env(), capture_output=True, text=True, timeout=300,
                                    check=False)
            took = time.monotonic() - start
            assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}\n{dev.tail()}"
            out = result.stdout
            assert "✓ agreement in force (rule set fbu-2022)" in out, out
            steps = [line for line in out.splitlines() if line.startswith("✓ ")]
            assert len(steps) == 11, out
            match = re.search(r"^Case (fbu-[0-9a-f]{32}): closed \(completed\)", out, re.MULTILINE)
            assert match, out
            case_id = match.group(1)

            # the payment system booked exactly two payments for this case: forfait + tranche 1, then tranche 2
            # (`vangnet rules fbu --arrears 2400.00`: forfait 422.00, tranche_1 1080.00, tranche_2 360.00)
            ours = [p for p in payments(ws, OCMW) if case_id in p["reference"]]
            assert sorted((p["reference"].split()[-1], p["amount"]) for p in ours) == [
                ("initial", "1502.00"), ("tranche_2", "360.00")], ours
            for p in ours:  # the summary names every payment id
                assert p["payment_id"] in out, (p, out)

            token = run_cli(ws, "token", "--role", "ocmw", "--org", OCMW)
            assert token.returncode == 0, token.stderr
            r = httpx.get(f"{ws.api_url}/v1/fbu/cases/{case_id}/events", timeout=10,
                          headers={"Authorization": f"Bearer {token.stdout.strip()}"})
            assert r.status_code == 200, r.text
            events = [e["type"] for e in r.json()]
            assert events[0] == "CaseOpened" and events[-1] == "CaseClosed", events
            assert r.json()[-1]["data"]["reason"] == "completed"
            stop_and_check(dev, list(ws.ports.values()))
        finally:
            dev.kill()
    print(f"drive script: {took:.1f} s")
