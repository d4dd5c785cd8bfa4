"""Texts and formats of the web application: one gettext catalogue per language, Belgian-Dutch numbers and dates.

The catalogue is the ``.po`` file itself, compiled in memory at start-up (no generated ``.mo`` to keep in step).
Message ids are English, so an English catalogue can follow by adding a file.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from schemas.money import round_cents

LOCALE = "nl_BE"
CATALOGUE_DIR = Path(__file__).parent / "locale"


@cache
def translations(language: str = "nl") -> Translations:
    """The compiled catalogue of ``language`` (cached: one compile per process)."""
    po_file = CATALOGUE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_file.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def _(message: str) -> str:
    """Translate one message id (for texts built in Python, e.g. validation messages)."""
    return translations().gettext(message)


def term(kind: str, key: str) -> str:
    """A coded value in words (``term("phase", "in_force")`` -> ``lopend``); the ids ``kind:key`` are in the
    catalogue (added by hand: an extractor cannot see computed ids)."""
    return translations().gettext(f"{kind}:{key}")


def euro(amount: Decimal | str | float | int | None) -> str:
    """``1080`` -> ``1.080,00``, rounded half-up to the cent (no currency sign: the templates put ``€`` where it
    reads well)."""
    if amount is None or amount == "":
        return ""
    return format_decimal(round_cents(Decimal(str(amount))), format="#,##0.00", locale=LOCALE)


def percent(fraction: Decimal | str) -> str:
    """``0.45`` -> ``45%``."""
    return format_decimal(Decimal(str(fraction)) * 100, format="#,##0.##", locale=LOCALE) + "%"


def day(value: date | datetime | str | None) -> str:
    """``2026-11-30`` -> ``30 november 2026``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="d MMMM y", locale=LOCALE)


def month(value: date) -> str:
    """``2026-11-01`` -> ``nov. 2026``."""
    return format_date(value, format="MMM y", locale=LOCALE)
