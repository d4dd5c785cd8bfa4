"""What the FBU PDF documents share: the base of their input models and the A4 page with its building blocks.

The page uses the built-in Helvetica font in Windows-1252, so nothing has to be installed or bundled; it takes its
creation date from the document's ``generated_on``, so the same input gives the same bytes; and it puts no personal
data in the PDF metadata, which many tools show or index without opening the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pydantic import BaseModel, ConfigDict

from api.document_text import ENCODING, pdf_safe


class DocumentModel(BaseModel):
    """The base of every document's input model: unknown fields refused, text stripped, frozen."""

    # from_attributes: the workflow's own PlanItem / Signature objects can be passed in as they are.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, from_attributes=True, frozen=True)


# ---- PDF building blocks --------------------------------------------------------------------------------------

FONT = "Helvetica"
BODY_PT = 10
LINE_MM = 5.0


class DutchPdf(FPDF):
    """A4 page with the built-in font in Windows-1252 and a footer "… — pagina X van Y"."""

    def __init__(self, *, footer_text: str, title: str, generated_on: date, author: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
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
        self.set_font(FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 5, f"{self._footer_text} — pagina {self.page_no()} van {{nb}}", align="C")
        self.set_text_color(0)

    # Every text goes through pdf_safe here, so no caller can hand fpdf2 a character it cannot encode.

    def title_block(self, text: str) -> None:
        self.set_font(FONT, style="B", size=15)
        self.multi_cell(0, 7, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def heading(self, text: str) -> None:
        if self.will_page_break(4 * LINE_MM):
            self.add_page()
        self.ln(3)
        self.set_font(FONT, style="B", size=11)
        self.multi_cell(0, 6, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, *, bold: bool = False, indent: float = 0, after: float = 1.5) -> None:
        self.set_font(FONT, style="B" if bold else "", size=BODY_PT)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, LINE_MM, pdf_safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(after)

    def labelled(self, label: str, value: str, *, label_width: float = 45) -> None:
        """A "label: value" line whose value wraps under itself."""
        self.set_font(FONT, style="B", size=BODY_PT)
        self.cell(label_width, LINE_MM, pdf_safe(label))
        self.set_font(FONT, size=BODY_PT)
        self.multi_cell(0, LINE_MM, pdf_safe(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bullets(self, items: Sequence[str]) -> None:
        self.set_font(FONT, size=BODY_PT)
        for number, item in enumerate(items, start=1):
            self.cell(8, LINE_MM, f"{number}.")
            self.multi_cell(0, LINE_MM, pdf_safe(item), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(1)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
