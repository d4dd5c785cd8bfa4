"""The OpenAPI document is as strict as the validators: what the schema allows is accepted, unless a documented rule
between fields (its own code) refuses it; text longer than ``maxLength`` as sent is refused, spaces and all."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api import problems
from api.app import create_app
from api.problems import CODES, ErrorCode
from api.sharing_routes import ConsentIn
from schemas.fbu import DraftAgreement
from vangnet.security.sharing import FBU_CLAIM, PolicyIn
from vangnet.services import reports

ROOT = Path(__file__).resolve().parents[2]


@given(st.text(alphabet=" \tab", max_size=110))
def test_a_purpose_is_valid_for_the_schema_exactly_when_the_model_accepts_it(purpose: str) -> None:
    schema = ConsentIn.model_json_schema()["properties"]["purpose"]
    try:
        ConsentIn(purpose=purpose, given=True)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == jsonschema.Draft202012Validator(schema).is_valid(purpose), (purpose, schema)


def test_max_length_counts_the_spaces_sent_and_min_length_what_is_left() -> None:
    assert ConsentIn(purpose="  abc  ", given=True).purpose == "abc"
    with pytest.raises(ValidationError) as too_long:
        ConsentIn(purpose=" " * 100 + "abc", given=True)
    assert [(e["loc"], e["type"]) for e in too_long.value.errors()] == [(("purpose",), "string_too_long")]
    with pytest.raises(ValidationError) as too_short:
        ConsentIn(purpose="  ab     ", given=True)
    assert [(e["loc"], e["type"]) for e in too_short.value.errors()] == [(("purpose",), "string_too_short")]


def test_a_json_value_of_another_type_is_refused_not_converted() -> None:
    """Pydantic's lax mode would read 0 as the Unix timestamp 1970-01-01 or as false; the schema says a date is a
    string and a flag a boolean."""
    with pytest.raises(ValidationError) as flag:
        PolicyIn(**_policy(requires_consent=0))
    assert [(e["loc"], e["type"]) for e in flag.value.errors()] == [(("requires_consent",), "bool_type")]
    with pytest.raises(ValidationError) as purpose:
        ConsentIn.model_validate({"purpose": "fbu-claim", "given": True, "note": 5})
    assert [(e["loc"], e["type"]) for e in purpose.value.errors()] == [(("note",), "string_type")]
    for changes in ({"valid_from": 0}, {"valid_until": 86400}, {"valid_from": 1.5}):
        with pytest.raises(ValidationError) as refused:
            PolicyIn(**_policy(**changes))
        assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [((*changes,), "string_type")]
    assert PolicyIn(**_policy(valid_from=date(2026, 1, 1), valid_until=None)).valid_from == date(2026, 1, 1)
    with pytest.raises(ValidationError) as in_a_plan:
        DraftAgreement.model_validate({"landlord_payment": "0.00", "plan": [{"due_on": 0, "amount": "10.00"}]})
    assert [e["loc"] for e in in_a_plan.value.errors()] == [("plan", 0, "due_on")]


def _policy(**changes: Any) -> dict[str, Any]:
    return {"flow": FBU_CLAIM, "from_org": "*", "to_org": "x", "legal_basis": "art. 5", "agreement_ref": "abc",
            "purpose": "fbu-claim", "data_categories": ["arrears"], "valid_from": "2026-01-02", **changes}


def _app() -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.put("/plan")
    async def plan(body: DraftAgreement) -> None:
        return None

    @app.post("/policy")
    async def policy(body: PolicyIn) -> None:
        return None

    return TestClient(app)


def test_a_rule_between_fields_has_its_own_code_and_a_broken_field_does_not() -> None:
    client = _app()
    backwards = {"landlord_payment": "0.00", "plan": [{"due_on": "2026-02-01", "amount": "10.00"},
                                                      {"due_on": "2026-01-01", "amount": "10.00"}]}
    twice = {**backwards, "plan": [backwards["plan"][1], backwards["plan"][1]]}
    for body in (backwards, twice):
        r = client.put("/plan", json=body)
        assert (r.status_code, r.json()["code"]) == (422, "inconsistent_fields"), r.text
    r = client.put("/plan", json={**backwards, "plan": [{"due_on": "2026-02-30", "amount": "10.00"}]})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input"), r.text
    r = client.post("/policy", json=_policy(valid_until="2026-01-01"))
    assert (r.status_code, r.json()["code"]) == (422, "inconsistent_fields"), r.text
    assert client.post("/policy", json=_policy(valid_until="2026-01-02")).status_code == 200
    r = client.post("/policy", json=_policy(valid_until="2026-01-01", to_org=" " * 100 + "x"))
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input"), r.text  # the model rule never ran


def test_the_document_names_each_rule_on_its_operations_only() -> None:
    doc = create_app().openapi()
    having = {(method, path): set(op["x-error-codes"]) & {"inconsistent_fields", "undecodable_payload"}
              for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert {k: v for k, v in having.items() if v} == {
        ("put", "/v1/fbu/cases/{case_id}/agreement"): {"inconsistent_fields"},
        ("post", "/v1/admin/sharing-policies"): {"inconsistent_fields"},
        ("get", "/v1/reports/fbu"): {"inconsistent_fields"},
        ("get", "/v1/reports/energy"): {"inconsistent_fields"},
        ("post", "/codec/decode"): {"undecodable_payload"},
        ("post", "/codec/encode"): {"undecodable_payload"},
    }
    agreement = doc["paths"]["/v1/fbu/cases/{case_id}/agreement"]["put"]
    assert "distinct due dates, in order" in agreement["description"]
    assert doc["paths"]["/codec/decode"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CodecPayloads"}


def test_report_dates_in_the_schema_are_the_dates_the_reports_take() -> None:
    doc = create_app().openapi()
    param = next(p for p in doc["paths"]["/v1/reports/fbu"]["get"]["parameters"] if p["name"] == "from")
    pattern = next(o for o in param["schema"]["anyOf"] if o.get("type") == "string")["pattern"]
    for day, ok in ((reports.EARLIEST, True), (reports.LATEST, True), (date(1999, 12, 31), False),
                    (date(2100, 1, 1), False), (date(2026, 2, 28), True)):
        assert (re.search(pattern, day.isoformat()) is not None) == ok, day
        assert (reports.date_problem(day, None) is None) == ok, day
    with pytest.raises(ValueError, match="whole centuries"):
        reports.century_pattern(date(2000, 1, 1), date(2050, 12, 31))


def test_docs_list_every_error_code_with_its_status() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    for code, info in CODES.items():
        row = rf"^\| `{code.value}` \| {info.status} \| {re.escape(info.title)} \| {re.escape(info.meaning)} \|$"
        assert re.search(row, text, re.MULTILINE), code
    assert {ErrorCode.INCONSISTENT_FIELDS, ErrorCode.UNDECODABLE_PAYLOAD} <= set(CODES)
