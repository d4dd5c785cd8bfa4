"""PDF documents: they render, in Dutch, with the parties, amounts and plan findable in the extracted text."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from api.documents import (
    AGREEMENT_TITLE,
    AgreementDocument,
    VredegerechtLetter,
    dutch_date,
    dutch_euro,
    pdf_safe,
    render_agreement_pdf,
    render_vredegerecht_letter_pdf,
)
from vangnet.rulebooks.working_days import add_working_days

TENANT = "Çelik Éloïse"


def agreement(**overrides: Any) -> AgreementDocument:
    due_dates = [date(2026, 12, 1)] + [date(2027, month, 1) for month in range(1, 6)]
    amounts = ["308.33"] * 5 + ["308.35"]  # total 1,850.00
    plan = [{"due_on": due_on, "amount": amount} for due_on, amount in zip(due_dates, amounts, strict=True)]
    fields: dict[str, Any] = {
        "case_id": "fbu-2026-000123",
        "ocmw_name": "OCMW Gent",
        "ocmw_id": "ocmw-44021",
        "tenant_name": TENANT,
        "tenant_address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent",
        "landlord_name": "Immo De Smet bv",
        "arrears_amount": Decimal("3100.00"),
        "arrears_since": date(2026, 5, 1),
        "landlord_payment": Decimal("1250.00"),
        "plan": plan,
        "version": 2,
        "signatures": [
            {"party": "tenant", "signed_on": date(2026, 11, 23), "evidence": "Ondertekend op papier op het OCMW"}
        ],
        "rule_set_id": "fbu-2022",
        "landlord_payment_working_days": 10,
        "generated_on": date(2026, 11, 20),
    }
    fields.update(overrides)
    return AgreementDocument.model_validate(fields)


def letter(**overrides: Any) -> VredegerechtLetter:
    fields: dict[str, Any] = {
        "case_id": "fbu-2026-000123",
        "ocmw_name": "OCMW Gent",
        "tenant_name": TENANT,
        "tenant_address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent",
        "landlord_name": "Immo De Smet bv",
        "arrears_amount": Decimal("3100.00"),
        "refused_on": date(2026, 11, 23),
        "refusal_reason": "Ik wil de woning verkopen en wacht niet op een afbetalingsplan.",
        "generated_on": date(2026, 11, 30),
    }
    fields.update(overrides)
    return VredegerechtLetter.model_validate(fields)


def pages_text(pdf: bytes) -> list[str]:
    """Text per page with all whitespace (line breaks, non-breaking spaces) collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def text_of(pdf: bytes) -> str:
    return " ".join(pages_text(pdf))


# ---- Formatting helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 23), "23 november 2026"),
        (date(2027, 1, 1), "1 januari 2027"),
        (date(2027, 3, 31), "31 maart 2027"),
        (date(2027, 8, 15), "15 augustus 2027"),
    ],
)
def test_dutch_date(day: date, expected: str) -> None:
    assert dutch_date(day) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1250"), "€\u00a01.250,00"),
        (Decimal("0"), "€\u00a00,00"),
        (Decimal("104.17"), "€\u00a0104,17"),
        (Decimal("1234567.891"), "€\u00a01.234.567,89"),
        (Decimal("0.005"), "€\u00a00,01"),  # half-up
    ],
)
def test_dutch_euro(amount: Decimal, expected: str) -> None:
    assert dutch_euro(amount) == expected


def test_pdf_safe() -> None:
    assert pdf_safe(TENANT) == TENANT
    assert pdf_safe("Łukasz Dąbrowski") == "Lukasz Dabrowski"
    assert pdf_safe("Erdős Ștefan") == "Erdos Stefan"
    assert pdf_safe("王 Ivanov") == "? Ivanov"
    assert pdf_safe("a\u200bb\tc\nd") == "ab c\nd"
    assert pdf_safe("€ — “x”") == "€ — “x”"


# ---- Agreement ----------------------------------------------------------------------------------------------


def test_agreement_states_the_payment_term_to_the_landlord() -> None:
    text = " ".join(text_of(render_agreement_pdf(agreement())).split())
    assert "Betalingstermijn: het OCMW betaalt dit bedrag binnen 10 werkdagen na de ondertekening" in text
    assert "uiterlijk op" not in text  # not yet in force: no last day


def test_agreement_in_force_states_the_last_day_of_the_payment_term() -> None:
    # signed on Friday 2026-12-18: 10 working days skip two weekends, Christmas and New Year's Day
    due = add_working_days(date(2026, 12, 18), 10)
    assert due == date(2027, 1, 5)
    doc = agreement(landlord_payment_working_days=10, landlord_payment_due_on=due)
    text = " ".join(text_of(render_agreement_pdf(doc)).split())
    assert "binnen 10 werkdagen na de ondertekening door de drie partijen" in text
    assert "uiterlijk op 5 januari 2027" in text


def test_the_payment_term_is_taken_from_the_document_not_a_literal() -> None:
    text = " ".join(text_of(render_agreement_pdf(agreement(landlord_payment_working_days=15))).split())
    assert "binnen 15 werkdagen" in text


def test_agreement_is_a_pdf_with_the_dutch_content() -> None:
    pdf = render_agreement_pdf(agreement())
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for phrase in (
        AGREEMENT_TITLE,
        "1. Partijen",
        "Het OCMW: OCMW Gent (referentie ocmw-44021)",
        f"De huurder: {TENANT}, wonende te Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent",
        "De verhuurder: Immo De Smet bv",
        "huurachterstal van € 3.100,00",
        "ontstaan sinds 1 mei 2026",
        "betaalt het OCMW aan de verhuurder een bedrag van € 1.250,00",
        "Afbetalingsplan",
        "Vervaldag Bedrag",
        "1 december 2026 € 308,33",
        "1 mei 2027 € 308,35",
        "Totaal € 1.850,00",
        "De huurder aanvaardt de begeleiding door het OCMW",
        "geen vordering tot uithuiszetting in te stellen zolang het afbetalingsplan wordt nageleefd",
        "verwittigt het OCMW minstens twee weken voor hij naar het vredegerecht stapt",
        "Versie: 2",
        "Regelset: fbu-2022",
        "Opgemaakt op: 20 november 2026",
    ):
        assert phrase in text, phrase


def test_agreement_signature_block() -> None:
    text = text_of(render_agreement_pdf(agreement()))
    signatures = text[text.index("6. Ondertekening") :]
    assert f"De huurder: {TENANT} Ondertekend op 23 november 2026 Bewijs: Ondertekend op papier op het OCMW" in (
        signatures
    )
    assert "Voor het OCMW: OCMW Gent Nog niet ondertekend." in signatures
    assert "De verhuurder: Immo De Smet bv Nog niet ondertekend." in signatures


def test_agreement_footer_has_version_and_page_numbers_on_every_page() -> None:
    long_plan = [{"due_on": date(2027 + m // 12, m % 12 + 1, 1), "amount": "25.00"} for m in range(60)]
    pages = pages_text(render_agreement_pdf(agreement(plan=long_plan)))
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"dossier fbu-2026-000123, versie 2 — pagina {number} van {len(pages)}" in page
    assert "Totaal € 1.500,00" in " ".join(pages)


def test_agreement_with_characters_outside_the_font_does_not_crash() -> None:
    pdf = render_agreement_pdf(agreement(tenant_name="Łukasz Dąbrowski-Erdős 王", landlord_name="Ωmega nv"))
    text = text_of(pdf)
    assert "Lukasz Dabrowski-Erdos ?" in text
    assert "?mega nv" in text


def test_agreement_is_reproducible_and_keeps_names_out_of_metadata() -> None:
    doc = agreement()
    pdf = render_agreement_pdf(doc)
    assert render_agreement_pdf(doc) == pdf
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    assert metadata.title == "Begeleidingsovereenkomst fbu-2026-000123 versie 2"
    assert TENANT not in str(dict(metadata))


def test_first_version_has_no_replacement_sentence() -> None:
    text = text_of(render_agreement_pdf(agreement(version=1, signatures=[])))
    assert "vervangt de vorige versies" not in text
    assert text.count("Nog niet ondertekend.") == 3


def test_one_signature_per_party() -> None:
    signature = {"party": "landlord", "signed_on": date(2026, 11, 23), "evidence": "e-mail"}
    with pytest.raises(ValidationError, match="at most once"):
        agreement(signatures=[signature, signature])


def test_plan_lines_and_signatures_accept_objects_with_attributes() -> None:
    @dataclass
    class Item:
        due_on: date
        amount: Decimal

    doc = agreement(plan=[Item(date(2026, 12, 1), Decimal("1850.00"))])
    assert doc.plan_total == Decimal("1850.00")


def test_plan_must_not_be_empty() -> None:
    with pytest.raises(ValidationError):
        agreement(plan=[])


# ---- Letter to the vredegerecht -----------------------------------------------------------------------------


def test_letter_is_a_pdf_with_the_dutch_content() -> None:
    pdf = render_vredegerecht_letter_pdf(letter())
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for phrase in (
        "Informatiebrief aan het vredegerecht",
        "OCMW Gent",
        "Datum: 30 november 2026",
        "Ons dossier: fbu-2026-000123",
        "Geachte vrederechter,",
        f"{TENANT}, wonende te Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent",
        "huurachterstal van € 3.100,00 tegenover de verhuurder Immo De Smet bv",
        "begeleidingsovereenkomst voorgesteld in het kader van het Fonds ter Bestrijding van Uithuiszettingen",
        "Op 23 november 2026 heeft de verhuurder geweigerd de begeleidingsovereenkomst te ondertekenen",
        "“Ik wil de woning verkopen en wacht niet op een afbetalingsplan.”",
        "pagina 1 van 1",
    ):
        assert phrase in text, phrase


def test_letter_with_a_long_reason_and_odd_characters() -> None:
    reason = "Де орендар не платить. " * 40 + "https://example.org/" + "x" * 200
    pdf = render_vredegerecht_letter_pdf(letter(refusal_reason=reason, tenant_name="Nguyễn Thị Ánh"))
    text = text_of(pdf)
    assert "Nguyen Thi Ánh" in text
    assert "pagina 1 van" in text
