"""The information letter from the OCMW to the vredegerecht as a PDF: what it prints, and its rendering.

Sent when the landlord refuses the begeleidingsovereenkomst, so that the justice of the peace knows an
out-of-court solution was offered; built from an explicit input model so that the letter can be reproduced later.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from api.document_pdf import DocumentModel, DutchPdf
from api.document_text import dutch_date, dutch_euro
from schemas.money import PositiveEuro

LETTER_TITLE = "Informatiebrief aan het vredegerecht"


class VredegerechtLetter(DocumentModel):
    """The letter informing the justice of the peace that the landlord refused the agreement (L4994-4996)."""

    case_id: str = Field(min_length=1, max_length=100)
    ocmw_name: str = Field(min_length=1, max_length=200, examples=["OCMW Gent"])
    tenant_name: str = Field(min_length=1, max_length=200, examples=["Çelik Éloïse"])
    tenant_address: str = Field(min_length=1, max_length=300, examples=["Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent"])
    landlord_name: str = Field(min_length=1, max_length=200, examples=["Immo De Smet bv"])
    arrears_amount: PositiveEuro
    refused_on: date
    refusal_reason: str = Field(min_length=1, max_length=2000)
    generated_on: date


def render_vredegerecht_letter_pdf(doc: VredegerechtLetter) -> bytes:
    """Render the information letter to the vredegerecht (Dutch, A4) and return its bytes.

    The FBU lets the OCMW inform the justice of the peace that it proposed a begeleidingsovereenkomst and that
    the landlord refused to sign it, so that the court knows an out-of-court solution was offered when it
    hears an eviction claim. The letter states the facts (who, the arrears, the date and the landlord's own
    reason) and nothing else about the tenant.
    """
    pdf = DutchPdf(
        footer_text=f"Informatiebrief aan het vredegerecht, dossier {doc.case_id}",
        title=f"Informatiebrief aan het vredegerecht {doc.case_id}",
        generated_on=doc.generated_on,
        author=doc.ocmw_name,
    )
    pdf.paragraph(doc.ocmw_name, bold=True, after=0)
    pdf.paragraph(f"Datum: {dutch_date(doc.generated_on)}", after=0)
    pdf.paragraph(f"Ons dossier: {doc.case_id}", after=6)
    pdf.paragraph("Aan de vrederechter", after=6)

    pdf.title_block(LETTER_TITLE)
    pdf.labelled(
        "Betreft:", "weigering van de verhuurder om een begeleidingsovereenkomst te ondertekenen", label_width=25
    )
    pdf.labelled("Huurder:", f"{doc.tenant_name}, {doc.tenant_address}", label_width=25)
    pdf.labelled("Verhuurder:", doc.landlord_name, label_width=25)
    pdf.ln(4)

    pdf.paragraph("Geachte vrederechter,", after=3)
    pdf.paragraph(
        f"{doc.tenant_name}, wonende te {doc.tenant_address}, heeft een huurachterstal van "
        f"{dutch_euro(doc.arrears_amount)} tegenover de verhuurder {doc.landlord_name}.",
        after=3,
    )
    pdf.paragraph(
        f"Om een uithuiszetting te voorkomen heeft {doc.ocmw_name} aan de huurder en de verhuurder een "
        "begeleidingsovereenkomst voorgesteld in het kader van het Fonds ter Bestrijding van Uithuiszettingen "
        "(FBU). Met die overeenkomst aanvaardt de huurder begeleiding door het OCMW en betaalt hij de "
        "huurachterstal af volgens een afbetalingsplan, betaalt het OCMW een deel van de achterstal aan de "
        "verhuurder, en belooft de verhuurder geen vordering tot uithuiszetting in te stellen zolang het "
        "afbetalingsplan wordt nageleefd.",
        after=3,
    )
    pdf.paragraph(
        f"Op {dutch_date(doc.refused_on)} heeft de verhuurder geweigerd de begeleidingsovereenkomst te "
        "ondertekenen. De verhuurder gaf daarvoor de volgende reden:",
        after=2,
    )
    pdf.paragraph(f"“{doc.refusal_reason}”", indent=8, after=3)
    pdf.paragraph(
        "Wij brengen u hiervan op de hoogte, zodat u dit kunt meenemen bij de behandeling van een eventuele "
        "vordering tot uithuiszetting.",
        after=6,
    )
    pdf.paragraph("Met vriendelijke groeten,", after=12)
    pdf.paragraph(f"Namens {doc.ocmw_name}", after=0)
    pdf.paragraph("(naam, functie en handtekening)")
    return pdf.to_bytes()
