"""Dutch PDF documents for FBU cases: the begeleidingsovereenkomst and the information letter to the vredegerecht.

Why the documents are built here from explicit input models rather than from the live case state: what is printed
must be exactly what the parties sign (one agreement version, its plan, its signatures), and the letter must be
reproducible later. The renderers are pure functions of their input: the same input gives the same bytes (the
PDF creation date is taken from ``generated_on``), so a generated document can be regenerated and compared.

Text choices:

- The documents are for tenants, landlords, OCMWs and the justice of the peace, so they are in Dutch, with dates
  written out ("23 november 2026") and amounts in Belgian notation ("€ 1.250,00"). Month names are spelled out
  here rather than taken from a locale, because servers rarely have the nl_BE locale installed and a missing
  locale must not change a legal document.
- The PDF uses the built-in Helvetica font so that nothing has to be installed or bundled. Its encoding is set to
  Windows-1252, which (unlike Latin-1) contains "€", "—" and the curly quotes. Names such as "Çelik Éloïse" fit
  as they are. Characters outside Windows-1252 (for example "ő", "ł", or another script) would crash fpdf2, so
  every text first goes through ``pdf_safe``: accents the font lacks are dropped ("ő" becomes "o"), a few letters
  are transliterated, and anything else becomes "?". The name in the case file is unchanged; only its printed
  form is simplified.
- No personal data goes into the PDF metadata (title, subject), which many tools show or index without opening
  the document.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Euro, PositiveEuro, round_cents

__all__ = [
    "AgreementDocument",
    "DocumentParty",
    "PlanLine",
    "SignatureLine",
    "VredegerechtLetter",
    "dutch_date",
    "dutch_euro",
    "pdf_safe",
    "render_agreement_pdf",
    "render_vredegerecht_letter_pdf",
]

DocumentParty = Literal["tenant", "landlord", "ocmw"]

AGREEMENT_TITLE = "Begeleidingsovereenkomst — Fonds ter Bestrijding van Uithuiszettingen"
LETTER_TITLE = "Informatiebrief aan het vredegerecht"
NOT_SIGNED = "Nog niet ondertekend."

# ---- Input models -------------------------------------------------------------------------------------------


class _DocumentModel(BaseModel):
    # from_attributes: the workflow's own PlanItem / Signature objects can be passed in as they are.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, from_attributes=True, frozen=True)


class PlanLine(_DocumentModel):
    """One instalment of the afbetalingsplan as printed."""

    due_on: date = Field(examples=["2026-12-01"])
    amount: PositiveEuro


class SignatureLine(_DocumentModel):
    """A signature the OCMW recorded for one party, with the evidence it holds (parties do not log in)."""

    party: DocumentParty
    signed_on: date
    evidence: str = Field(min_length=1, max_length=500, examples=["Ondertekend op papier op het OCMW; scan in dossier"])


class AgreementDocument(_DocumentModel):
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


class VredegerechtLetter(_DocumentModel):
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


# ---- Dutch formatting -------------------------------------------------------------------------------------------

_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def dutch_date(day: date) -> str:
    """Write a date the Dutch way, "23 november 2026", without depending on the server's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def dutch_euro(amount: Decimal) -> str:
    """Write an amount the Belgian way, "€ 1.250,00": dot for thousands, comma for cents.

    The amount is rounded half-up to the cent first (the fund's rounding). A non-breaking space keeps the euro
    sign and the number on one line.
    """
    rounded = round_cents(amount)
    sign = "-" if rounded < 0 else ""
    digits = f"{abs(rounded):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"€\u00a0{sign}{digits}"


# ---- Text that the built-in font can print -------------------------------------------------------------------

_ENCODING = "windows-1252"
# Letters without a Unicode decomposition to a Windows-1252 letter.
_TRANSLITERATION = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "ħ": "h",
        "Ħ": "H",
        "ŧ": "t",
        "Ŧ": "T",
        "ŀ": "l",
        "Ŀ": "L",
        "ĸ": "k",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2015": "—",
        "\u2212": "-",
        "\u2032": "'",
        "\u2033": '"',
        "\u202f": "\u00a0",
        "\u2007": "\u00a0",
        "\t": " ",
    }
)


def _encodable(text: str) -> bool:
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def pdf_safe(text: str) -> str:
    """Return ``text`` reduced to characters the built-in PDF font can print (Windows-1252).

    Characters that fit are kept as they are ("Çelik Éloïse" stays). For the rest, in order: a small
    transliteration table ("ł" → "l"), then the letter without its accent ("ő" → "o", "ș" → "s"), and
    finally "?", so a document is always produced and the reader can see that a character was lost.
    Control and invisible formatting characters (other than line breaks) are dropped.
    """
    result: list[str] = []
    for char in unicodedata.normalize("NFC", text).translate(_TRANSLITERATION):
        if char == "\n":
            result.append(char)
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Mn"):
            continue  # control and invisible formatting characters, stray combining accents
        if _encodable(char):
            result.append(char)
            continue
        base = "".join(part for part in unicodedata.normalize("NFKD", char) if unicodedata.category(part) != "Mn")
        result.append(base if base and _encodable(base) else "?")
    return "".join(result)


# ---- PDF building blocks --------------------------------------------------------------------------------------

_FONT = "Helvetica"
_BODY_PT = 10
_LINE_MM = 5.0


class _DutchPdf(FPDF):
    """A4 page with the built-in font in Windows-1252 and a footer "… — pagina X van Y"."""

    def __init__(self, *, footer_text: str, title: str, generated_on: date, author: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = _ENCODING
        self._footer_text = pdf_safe(footer_text)
        self.set_margins(left=20, top=20, right=20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(pdf_safe(title))
        self.set_author(pdf_safe(author))
        self.set_creator("Vangnet")
        self.set_lang("nl-BE")
        # Fixed creation date: the same input gives the same bytes.
        self.set_creation_date(datetime(generated_on.year, generated_on.month, generated_on.day, tzinfo=UTC))
        self.alias_nb_pages()
        self.add_page()

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(_FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 5, f"{self._footer_text} — pagina {self.page_no()} van {{nb}}", align="C")
        self.set_text_color(0)

    # Every text goes through pdf_safe here, so no caller can hand fpdf2 a character it cannot encode.

    def title_block(self, text: str) -> None:
        self.set_font(_FONT, style="B", size=15)
        self.multi_cell(0, 7, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def heading(self, text: str) -> None:
        if self.will_page_break(4 * _LINE_MM):
            self.add_page()
        self.ln(3)
        self.set_font(_FONT, style="B", size=11)
        self.multi_cell(0, 6, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, *, bold: bool = False, indent: float = 0, after: float = 1.5) -> None:
        self.set_font(_FONT, style="B" if bold else "", size=_BODY_PT)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, _LINE_MM, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(after)

    def labelled(self, label: str, value: str, *, label_width: float = 45) -> None:
        """A "label: value" line whose value wraps under itself."""
        self.set_font(_FONT, style="B", size=_BODY_PT)
        self.cell(label_width, _LINE_MM, pdf_safe(label))
        self.set_font(_FONT, size=_BODY_PT)
        self.multi_cell(0, _LINE_MM, pdf_safe(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bullets(self, items: Sequence[str]) -> None:
        self.set_font(_FONT, size=_BODY_PT)
        for number, item in enumerate(items, start=1):
            self.cell(8, _LINE_MM, f"{number}.")
            self.multi_cell(0, _LINE_MM, pdf_safe(item), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(1)

    def plan_table(self, plan: Sequence[PlanLine], total: Decimal) -> None:
        self.set_font(_FONT, size=_BODY_PT)
        with self.table(
            col_widths=(12, 60, 40),
            width=112,
            align="LEFT",
            text_align=("RIGHT", "LEFT", "RIGHT"),
            line_height=_LINE_MM + 1,
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
        self.set_font(_FONT, style="B", size=_BODY_PT)
        self.cell(72, _LINE_MM + 1, "Totaal", align="R")
        self.cell(40, _LINE_MM + 1, pdf_safe(dutch_euro(total)), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_FONT, size=_BODY_PT)

    def to_bytes(self) -> bytes:
        return bytes(self.output())


# ---- The begeleidingsovereenkomst -----------------------------------------------------------------------------

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
    pdf = _DutchPdf(
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

    pdf.heading("4. Afbetalingsplan")
    pdf.plan_table(doc.plan, doc.plan_total)

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
        if pdf.will_page_break(3 * _LINE_MM + 4):
            pdf.add_page()
        pdf.paragraph(_party_label(doc, party), bold=True, after=0)
        signature = signed.get(party)
        if signature is None:
            pdf.paragraph(NOT_SIGNED, indent=5, after=3)
        else:
            pdf.paragraph(f"Ondertekend op {dutch_date(signature.signed_on)}", indent=5, after=0)
            pdf.paragraph(f"Bewijs: {signature.evidence}", indent=5, after=3)

    return pdf.to_bytes()


# ---- The letter to the vredegerecht ---------------------------------------------------------------------------


def render_vredegerecht_letter_pdf(doc: VredegerechtLetter) -> bytes:
    """Render the information letter to the vredegerecht (Dutch, A4) and return its bytes.

    The FBU lets the OCMW inform the justice of the peace that it proposed a begeleidingsovereenkomst and that
    the landlord refused to sign it, so that the court knows an out-of-court solution was offered when it
    hears an eviction claim. The letter states the facts (who, the arrears, the date and the landlord's own
    reason) and nothing else about the tenant.
    """
    pdf = _DutchPdf(
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
