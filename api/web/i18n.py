"""Texts and formats of the web application: one gettext catalogue per language, Belgian-Dutch numbers and dates.

The catalogue is the ``.po`` file itself, compiled in memory at start-up (no generated ``.mo`` to keep in step).
Message ids are English, so an English catalogue can follow by adding a file.
"""

from __future__ import annotations

import io
import re
import string
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from schemas.money import round_cents

LOCALE = "nl_BE"
CATALOGUE_DIR = Path(__file__).parent / "locale"


@cache
def catalogue(language: str = "nl") -> Catalog:
    """The ``.po`` file of ``language``, read once per process."""
    with (CATALOGUE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


@cache
def translations(language: str = "nl") -> Translations:
    """The compiled catalogue of ``language`` (cached: one compile per process)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalogue(language))
    buffer.seek(0)
    return Translations(buffer)


def _(message: str) -> str:
    """Translate one message id (for texts built in Python, e.g. validation messages)."""
    return translations().gettext(message)


@cache
def _refusal_templates() -> list[tuple[re.Pattern[str], str]]:
    """The catalogue's refusal templates (message ids with ``{name}`` fields), each as a pattern over the English
    text and its Dutch translation; the most specific first (the most fixed text), so "submitted from {a} to {b}"
    is tried before "submitted from {a}"."""
    found = []
    for message in catalogue():
        if not isinstance(message.id, str) or "{" not in message.id or not message.string:
            continue
        pattern, fixed = "", 0
        for literal, field, _spec, _conversion in string.Formatter().parse(message.id):
            pattern += re.escape(literal) + (f"(?P<{field}>.+?)" if field else "")
            fixed += len(literal)
        found.append((fixed, re.compile(pattern, re.DOTALL), str(message.string)))
    return [(pattern, dutch) for _, pattern, dutch in sorted(found, key=lambda f: -f[0])]


_TERMS = {"phase": "phase", "status": "phase", "target": "phase", "party": "party", "closing_reason": "closing"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_AMOUNT = re.compile(r"-?\d+\.\d{2}")
_NUMBER = re.compile(r"-?\d+\.\d+")
_SENTENCE_END = re.compile(r"(?<=\.) (?=[A-Z])")


def _value(field: str, value: str) -> str:
    """A value taken from an English refusal, in Dutch: a date in words, an amount the Belgian way, a coded value
    by its term."""
    if _ISO_DAY.fullmatch(value):
        return day(value)
    if _AMOUNT.fullmatch(value):
        return euro(value)
    if _NUMBER.fullmatch(value):
        return value.replace(".", ",")
    kind = _TERMS.get(field.rstrip("0123456789"))
    if kind:
        worded = term(kind, value)
        if worded != f"{kind}:{value}":
            return worded if worded.isupper() else worded[0].lower() + worded[1:]  # "huurder" inside a sentence
    # a phrase or sentences of their own ("between 2 and 6 months of rent", the reasons of a refusal)
    return " ".join(refusal(sentence) for sentence in _SENTENCE_END.split(value))


def refusal(detail: str) -> str:
    """A refusal of the API or a workflow (English, with values in it) in Dutch: a fixed text from the catalogue,
    else the first template that matches the whole text, its values carried over (each itself translated when it is
    a phrase of its own); else the text as it came."""
    if not detail.strip():
        return detail  # gettext("") is the catalogue's header
    fixed = _(detail)
    if fixed != detail:
        return fixed
    for pattern, dutch in _refusal_templates():
        match = pattern.fullmatch(detail)
        if match:
            values = {k: _value(k, v) for k, v in match.groupdict().items()}
            return dutch.format(**values)
    return detail


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
