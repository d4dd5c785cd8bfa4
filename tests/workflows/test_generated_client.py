"""A vendor's view of the contract: a Python client generated from the served ``/openapi.json`` (with
``openapi-python-client``, as an OCMW's software supplier would) drives one FBU case and one energy case, and
parses a 409 and a 422 into the ``Problem`` model with its stable ``code``.

The generator must produce the client without a warning: a skipped operation or model is a broken contract.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Stack
from tests.energy_helpers import EnergyDriver
from tests.energy_helpers import open_body as energy_open_body
from tests.fbu_helpers import OCMW, Driver, agreement_body, open_body

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate(document: dict[str, Any], where: Path) -> Any:
    """Generate the client package ``vangnet_client`` into ``where`` and import it."""
    spec = where / "openapi.json"
    spec.write_text(json.dumps(document))
    config = where / "config.yaml"
    config.write_text("project_name_override: vangnet_client\npackage_name_override: vangnet_client\npost_hooks: []\n"
                      "content_type_overrides:\n  application/pdf: application/octet-stream\n")
    out = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--meta", "none", "--config", str(config),
                          "--output-path", str(where / "vangnet_client")], capture_output=True, text=True,
                         timeout=180, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Warning" not in out.stdout + out.stderr, out.stdout + out.stderr
    sys.path.insert(0, str(where))
    return importlib.import_module("vangnet_client")


def _op(package: str, operation_id: str) -> Any:
    return importlib.import_module(f"vangnet_client.api.{package}.{operation_id}")


async def test_a_generated_client_drives_an_fbu_and_an_energy_case(stack: Stack, tmp_path: Path) -> None:
    document = (await stack.api.get("/openapi.json")).json()
    client_pkg = generate(document, tmp_path)
    from vangnet_client import models

    token = stack.token("ocmw", OCMW)["Authorization"].removeprefix("Bearer ")
    client = client_pkg.AuthenticatedClient(base_url=stack.url, token=token,
                                            timeout=httpx.Timeout(60.0))
    fbu = Driver(stack)

    # FBU: open, a step out of order (409), a wrong amount (422), then the agreement in force.
    opened = await _op("fbu_cases", "open_case_v1_fbu_cases_post").asyncio_detailed(
        client=client, body=models.OpenFbuCase.from_dict(open_body()), idempotency_key="gen-client-fbu-1")
    assert opened.status_code == 201, opened.content
    case_id = opened.parsed.case_id
    sign = _op("fbu_cases", "sign_v1_fbu_cases_case_id_signatures_post")
    signature = {"party": "tenant", "evidence": "signed at the office"}
    early = await sign.asyncio_detailed(case_id=case_id, client=client, body=models.SignAgreement.from_dict(signature))
    assert early.status_code == 409, early.content
    assert isinstance(early.parsed, models.Problem), early.parsed
    assert early.parsed.code == models.ErrorCode.STEP_OUT_OF_ORDER and early.parsed.status == 409
    assert early.parsed.type_ == "urn:vangnet:problem:step_out_of_order"
    draft = _op("fbu_cases", "draft_agreement_v1_fbu_cases_case_id_agreement_put")
    bad = await draft.asyncio_detailed(case_id=case_id, client=client, body=models.DraftAgreement.from_dict(
        {"landlord_payment": "12.345", "plan": [{"due_on": "2030-01-01", "amount": "1.00"}]}))
    assert bad.status_code == 422, bad.content
    assert isinstance(bad.parsed, models.Problem)
    assert bad.parsed.code == models.ErrorCode.INVALID_INPUT
    assert [e.field for e in bad.parsed.errors] == ["landlord_payment"], bad.content
    body = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, await fbu.today() + timedelta(days=30))
    drafted = await draft.asyncio_detailed(case_id=case_id, client=client,
                                           body=models.DraftAgreement.from_dict(body))
    assert drafted.status_code == 200, drafted.content
    for party in ("tenant", "landlord", "ocmw"):
        signed = await sign.asyncio_detailed(case_id=case_id, client=client,
                                             body=models.SignAgreement.from_dict({**signature, "party": party}))
        assert signed.status_code == 200, signed.content
    case = await _op("fbu_cases", "get_case_v1_fbu_cases_case_id_get").asyncio_detailed(case_id=case_id,
                                                                                         client=client)
    assert case.status_code == 200 and case.parsed.status == "in_force", case.content

    # Energy: open, then a supplier event read back from the case.
    energy = EnergyDriver(stack)
    created = await _op("energy_cases", "open_case_v1_energy_cases_post").asyncio_detailed(
        client=client, body=models.OpenEnergyCase.from_dict(energy_open_body(energy.new_ean())))
    assert created.status_code == 201, created.content
    energy_id = created.parsed.case_id
    again = await _op("energy_cases", "open_case_v1_energy_cases_post").asyncio_detailed(
        client=client, body=models.OpenEnergyCase.from_dict(energy_open_body(energy.new_ean(), nis="11002")))
    assert again.status_code == 403 and again.parsed.code == models.ErrorCode.WRONG_MUNICIPALITY, again.content
    read = await _op("energy_cases", "get_case_v1_energy_cases_case_id_get").asyncio_detailed(case_id=energy_id,
                                                                                               client=client)
    assert read.status_code == 200 and read.parsed.case_id == energy_id, read.content
