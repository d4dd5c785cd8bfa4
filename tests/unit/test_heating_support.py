"""Winter heating support: the input is the household's average MONTHLY winter consumption, and each half-monthly
top-up is 60% of it divided by 2 — in the API schema, the code, the events and the documents alike."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.energy import WinterSupport, WinterSupportApplication
from schemas.energy_events import WinterSupportApplied
from schemas.energy_rules import half_monthly_topup
from schemas.event_catalog import decode
from schemas.events import DomainEvent
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.storage.energy_document import EnergyCaseDocument

NEW, OLD = "average_monthly_winter_consumption_eur", "average_winter_consumption_eur"


def test_each_half_monthly_top_up_is_60_percent_of_the_monthly_average_divided_by_2() -> None:
    book = load_energy_rule_book()
    assert book.winter_support.topup_share == Decimal("0.60")
    assert half_monthly_topup(book, Decimal("180.00")) == Decimal("54.00")  # not 108.00 (60% per half month)
    assert half_monthly_topup(book, Decimal("200.00")) == Decimal("60.00")
    assert half_monthly_topup(book, Decimal("100.05")) == Decimal("30.02")  # 30.015 half-up


def test_the_api_schema_names_the_monthly_average_and_states_the_formula() -> None:
    schema = WinterSupportApplication.model_json_schema()
    assert set(schema["properties"]) == {NEW, "heating"} and schema["required"] == [NEW]
    field = schema["properties"][NEW]
    assert "MONTHLY" in field["description"] and "divided by 2" in field["description"]
    assert "180.00 a month gives top-ups of 54.00" in field["description"]
    assert field["examples"] == ["180.00"]


def test_the_api_refuses_the_old_name() -> None:
    """FastAPI validates the parsed body (Python mode): the old name is an unknown field there."""
    with pytest.raises(ValidationError) as refused:
        WinterSupportApplication.model_validate({OLD: "180.00", "heating": "gas"})
    assert {e["type"] for e in refused.value.errors()} == {"missing", "extra_forbidden"}


def test_updates_recorded_before_the_rename_still_decode() -> None:
    """A Temporal history holds the update's JSON payload with the old name; the data converter must read it."""
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({OLD: "180.00", "heating": "gas"}).encode())
    (decoded,) = pydantic_data_converter.payload_converter.from_payloads([payload], [WinterSupportApplication])
    assert decoded == WinterSupportApplication(average_monthly_winter_consumption_eur=Decimal("180.00"))
    sent = pydantic_data_converter.payload_converter.to_payloads([decoded])[0]
    assert json.loads(sent.data) == {NEW: "180.00", "heating": "gas"}


def test_a_v1_event_is_lifted_to_the_new_name() -> None:
    event = DomainEvent(event_id="c:7", stream="c", stream_version=7, case_id="c", case_kind="energy", ocmw_id="o",
                        type="WinterSupportApplied", schema_version=1,
                        data={"heating": "gas", "on": "2026-11-03", OLD: "180.00"},
                        occurred_at=datetime(2026, 11, 3, 9, tzinfo=UTC))
    assert decode(event) == WinterSupportApplied(heating="gas", on=date(2026, 11, 3),
                                                 average_monthly_winter_consumption_eur=Decimal("180.00"))
    with pytest.raises(ValidationError):  # without the upcaster the old body does not fit version 2
        WinterSupportApplied.model_validate(event.data)
    assert WinterSupportApplied.VERSION == 2


def test_state_and_documents_stored_with_the_old_name_still_read() -> None:
    old = {"status": "approved", "applied_on": "2026-11-03", "winter_start_year": 2026, "heating": "gas",
           OLD: "180.00", "topup_amount": "54.00"}
    ws = WinterSupport.model_validate(old)
    assert ws.average_monthly_winter_consumption_eur == Decimal("180.00")
    assert NEW in ws.model_dump() and OLD not in ws.model_dump()
    doc = EnergyCaseDocument.model_validate_json(json.dumps({
        "case_id": "c", "ocmw_id": "o", "energy": "gas", "supplier": "s", "netbeheerder": "n",
        "municipality_nis": "11002", "phase": "prepayment", "rule_set_id": "energy-2022-07",
        "notice_of_default_on": "2026-08-01", "notice_period_ends_on": "2026-09-15", "winter_support": old}))
    assert doc.winter_support is not None
    assert doc.winter_support.average_monthly_winter_consumption_eur == Decimal("180.00")
