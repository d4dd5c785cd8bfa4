"""Dutch PDF documents for FBU cases: the begeleidingsovereenkomst and the information letter to the vredegerecht.

Why the documents are built from explicit input models rather than from the live case state: what is printed must
be exactly what the parties sign (one agreement version, its plan, its signatures), and the letter must be
reproducible later. The renderers are pure functions of their input: the same input gives the same bytes (the
PDF creation date is taken from ``generated_on``), so a generated document can be regenerated and compared.

This module is where callers import the documents from. Each document has its own module
(``api.agreement_document``, ``api.vredegerecht_letter``); what they share is in ``api.document_pdf`` (the A4 page,
the input-model base) and ``api.document_text`` (Dutch dates and amounts, and ``pdf_safe``, which reduces any text
to what the built-in font can print). The documents are in Dutch for tenants, landlords, OCMWs and the justice of
the peace, and no personal data goes into the PDF metadata.
"""

from __future__ import annotations

from api.agreement_document import (
    AGREEMENT_TITLE,
    NOT_SIGNED,
    AgreementDocument,
    DocumentParty,
    PlanLine,
    SignatureLine,
    render_agreement_pdf,
)
from api.document_text import dutch_date, dutch_euro, pdf_safe
from api.vredegerecht_letter import LETTER_TITLE, VredegerechtLetter, render_vredegerecht_letter_pdf

__all__ = [
    "AGREEMENT_TITLE",
    "LETTER_TITLE",
    "NOT_SIGNED",
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
