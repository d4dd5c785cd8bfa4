"""Dutch text for the FBU PDF documents: dates and amounts written out, and text the built-in PDF font can print.

Month names are spelled out here rather than taken from a locale, because servers rarely have the nl_BE locale
installed and a missing locale must not change a legal document. The built-in Helvetica font is encoded in
Windows-1252, which (unlike Latin-1) has "€", "—" and the curly quotes; any other character would crash fpdf2, so
every printed text goes through ``pdf_safe`` first (the name in the case file is unchanged, only its printed form
is simplified).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from schemas.money import round_cents

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

ENCODING = "windows-1252"
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
        text.encode(ENCODING)
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

