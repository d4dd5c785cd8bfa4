"""The begeleidingsovereenkomst of an FBU case as a PDF: what one agreement version prints, and its rendering.

Built from an explicit input model rather than the live case state, because what is printed must be exactly what
the parties sign: one agreement version, its plan and its signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from fpdf.enums import XPos, YPos
from pydantic import Field, model_validator

from api.document_pdf import BODY_PT, FONT, LINE_MM, DocumentModel, DutchPdf
from api.document_text import dutch_date, dutch_euro, pdf_safe
from schemas.money import Euro, PositiveEuro

DocumentParty = Literal["tenant", "landlord", "ocmw"]

AGREEMENT_TITLE = "Begeleidingsovereenkomst — Fonds ter Bestrijding van Uithuiszettingen"
NOT_SIGNED = "Nog niet ondertekend."


class PlanLine(DocumentModel):
    """One instalment of the afbetalingsplan as printed."""

    due_on: date = Field(examples=["2026-12-01"])
    amount: PositiveEuro


class SignatureLine(DocumentModel):
    """A signature the OCMW recorded for one party, with the evidence it holds (parties do not log in)."""

    party: DocumentParty
    signed_on: date
    evidence: str = Field(min_length=1, max_length=500, examples=["Ondertekend op papier op het OCMW; scan in dossier"])


class AgreementDocument(DocumentModel):
    """Everything printed on one version of the begeleidingsovereenkomst."""

    case_id: str = Field(min_length=1, max_length=100)
    ocmw_name: str = Field(min_length=1, max_length=200, examples=["OCMW Gent"])
    ocmw_id: str = Field(min_length=1, max_length=100, examples=["ocmw-44021"])
    tenant_name: str = Field(min_length=1, max_length=200, examples=["Çelik Éloïse"])
    tenant_address: str = Field(min_length=1, max_length=300, examples=["Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent"])
    landlord_name: str = Field(min_length=1, max_length=200, examples=["Immo De Smet bv"])
    arrears_amount: PositiveEuro
    arrears_since: date
    landlord_payment: Euro
    plan: list[PlanLine] = Field(min_length=1, max_length=120)
    version: int = Field(ge=1)
    signatures: list[SignatureLine] = Field(default_factory=list, max_length=3)
    rule_set_id: str = Field(min_length=1, max_length=100, examples=["fbu-2022"])
    landlord_payment_working_days: int = Field(
        gt=0, le=365, examples=[10], description="The payment term in working days from signing (rule-book data).")
    landlord_payment_due_on: date | None = Field(
        None, description="The last day of the term, once the agreement is in force (signed by all three).")
    generated_on: date

    @model_validator(mode="after")
    def _one_signature_per_party(self) -> AgreementDocument:
        parties = [signature.party for signature in self.signatures]
        if len(set(parties)) != len(parties):
            raise ValueError("Each party signs an agreement version at most once.")
        return self

    @property
    def plan_total(self) -> Decimal:
        """Sum of the instalments, printed under the plan."""
        return sum((line.amount for line in self.plan), Decimal("0.00"))


def payment_term_text(doc: AgreementDocument) -> str:
    """The term of the OCMW's payment to the landlord, with its last day once all three have signed."""
    days = doc.landlord_payment_working_days
    text = (f"Betalingstermijn: het OCMW betaalt dit bedrag binnen {days} werkdagen na de ondertekening door de "
            "drie partijen (zaterdagen, zondagen en wettelijke feestdagen tellen niet mee)")
    if doc.landlord_payment_due_on is None:
        return text + "."
    return text + f", dus uiterlijk op {dutch_date(doc.landlord_payment_due_on)}."


def _plan_table(pdf: DutchPdf, plan: Sequence[PlanLine], total: Decimal) -> None:
    """The afbetalingsplan as a table (number, due date, amount) with its total under it."""
    pdf.set_font(FONT, size=BODY_PT)
    with pdf.table(
        col_widths=(12, 60, 40),
        width=112,
        align="LEFT",
        text_align=("RIGHT", "LEFT", "RIGHT"),
        line_height=LINE_MM + 1,
        padding=(0.5, 2),
    ) as table:
        header = table.row()
        for title in ("Nr.", "Vervaldag", "Bedrag"):
            header.cell(title)
        for number, line in enumerate(plan, start=1):
            row = table.row()
            row.cell(str(number))
            row.cell(pdf_safe(dutch_date(line.due_on)))
            row.cell(pdf_safe(dutch_euro(line.amount)))
    pdf.set_font(FONT, style="B", size=BODY_PT)
    pdf.cell(72, LINE_MM + 1, "Totaal", align="R")
    pdf.cell(40, LINE_MM + 1, pdf_safe(dutch_euro(total)), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=BODY_PT)


_PARTY_ORDER: tuple[DocumentParty, ...] = ("ocmw", "tenant", "landlord")


def _party_label(doc: AgreementDocument, party: DocumentParty) -> str:
    return {
        "ocmw": f"Voor het OCMW: {doc.ocmw_name}",
        "tenant": f"De huurder: {doc.tenant_name}",
        "landlord": f"De verhuurder: {doc.landlord_name}",
    }[party]


def render_agreement_pdf(doc: AgreementDocument) -> bytes:
    """Render one version of the begeleidingsovereenkomst as a PDF (Dutch, A4) and return its bytes.

    Contents: the three parties, the huurachterstal, what the OCMW pays the landlord, the afbetalingsplan as a
    table with its total, the clauses the FBU requires, a signature block per party (date and evidence, or "nog
    niet ondertekend") and the version number; every page has the case, version and page number in its footer,
    so a loose page can be matched to its document.
    """
    pdf = DutchPdf(
        footer_text=f"Begeleidingsovereenkomst dossier {doc.case_id}, versie {doc.version}",
        title=f"Begeleidingsovereenkomst {doc.case_id} versie {doc.version}",
        generated_on=doc.generated_on,
        author=doc.ocmw_name,
    )
    pdf.title_block(AGREEMENT_TITLE)
    pdf.labelled("Dossier:", doc.case_id)
    pdf.labelled("Versie:", str(doc.version))
    pdf.labelled("Regelset:", doc.rule_set_id)
    pdf.labelled("Opgemaakt op:", dutch_date(doc.generated_on))
    if doc.version > 1:
        pdf.ln(1)
        pdf.paragraph(
            f"Deze versie {doc.version} vervangt de vorige versies van de overeenkomst en van het "
            "afbetalingsplan. De handtekeningen hieronder gelden voor deze versie."
        )

    pdf.heading("1. Partijen")
    pdf.labelled("Het OCMW:", f"{doc.ocmw_name} (referentie {doc.ocmw_id})")
    pdf.labelled("De huurder:", f"{doc.tenant_name}, wonende te {doc.tenant_address}")
    pdf.labelled("De verhuurder:", doc.landlord_name)
    pdf.ln(1)
    pdf.paragraph(
        "Het OCMW, de huurder en de verhuurder sluiten deze begeleidingsovereenkomst in het kader van het "
        "Fonds ter Bestrijding van Uithuiszettingen (FBU)."
    )

    pdf.heading("2. Huurachterstal")
    pdf.paragraph(
        f"De huurder heeft een huurachterstal van {dutch_euro(doc.arrears_amount)} tegenover de verhuurder, "
        f"ontstaan sinds {dutch_date(doc.arrears_since)}."
    )

    pdf.heading("3. Betaling door het OCMW aan de verhuurder")
    pdf.paragraph(
        f"Na het sluiten van deze overeenkomst betaalt het OCMW aan de verhuurder een bedrag van "
        f"{dutch_euro(doc.landlord_payment)} op de huurachterstal. Het saldo van de huurachterstal betaalt de "
        "huurder af volgens het afbetalingsplan hieronder."
    )
    pdf.paragraph(payment_term_text(doc))

    pdf.heading("4. Afbetalingsplan")
    _plan_table(pdf, doc.plan, doc.plan_total)

    pdf.heading("5. Afspraken")
    pdf.bullets(
        (
            "De huurder aanvaardt de begeleiding door het OCMW en betaalt de huurachterstal af volgens het "
            "afbetalingsplan.",
            "De verhuurder belooft geen vordering tot uithuiszetting in te stellen zolang het afbetalingsplan "
            "wordt nageleefd.",
            "De verhuurder verwittigt het OCMW minstens twee weken voor hij naar het vredegerecht stapt.",
        )
    )

    pdf.heading("6. Ondertekening")
    signed = {signature.party: signature for signature in doc.signatures}
    for party in _PARTY_ORDER:
        if pdf.will_page_break(3 * LINE_MM + 4):
            pdf.add_page()
        pdf.paragraph(_party_label(doc, party), bold=True, after=0)
        signature = signed.get(party)
        if signature is None:
            pdf.paragraph(NOT_SIGNED, indent=5, after=3)
        else:
            pdf.paragraph(f"Ondertekend op {dutch_date(signature.signed_on)}", indent=5, after=0)
            pdf.paragraph(f"Bewijs: {signature.evidence}", indent=5, after=3)

    return pdf.to_bytes()
