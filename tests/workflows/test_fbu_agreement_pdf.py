"""The agreement PDF served by the API states the OCMW's payment term to the landlord (rule-book working days) and,
once the agreement is in force, its last day: the same day as the case's landlord-payment deadline."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from api.document_text import dutch_date
from tests.conftest import Stack
from tests.fbu_helpers import Driver, agreement_body
from vangnet.rulebooks.working_days import add_working_days


@pytest.fixture
def driver(stack: Stack) -> Driver:
    return Driver(stack)


def text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


async def test_agreement_pdf_states_the_payment_term_and_its_last_day_once_in_force(driver: Driver) -> None:
    case_id = await driver.open()
    await driver.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("600.00"), 6,
                                               (await driver.today()) + timedelta(days=20)))
    url = f"/v1/fbu/cases/{case_id}/documents/agreement"
    drafted = text((await driver.api.get(url, headers=driver.ocmw)).content)
    assert "binnen 10 werkdagen na de ondertekening door de drie partijen" in drafted
    assert "uiterlijk op" not in drafted
    await driver.sign_all(case_id)
    in_force_on = (await driver.case(case_id))["agreement"]["in_force_on"]
    due = add_working_days(date.fromisoformat(in_force_on), 10)
    signed = text((await driver.api.get(url, headers=driver.ocmw)).content)
    assert f"uiterlijk op {dutch_date(due)}" in signed
    case = await driver.case(case_id)
    assert {"kind": "landlord_payment", "due_on": due.isoformat()} in case["deadlines"]
