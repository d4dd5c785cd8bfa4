"""Form input to API bodies and the API's own pydantic refusals to Dutch messages next to their fields.

The rules are the API's (the same pydantic models validate both); only the wording is translated here, by the
error type pydantic reports, so a new rule in ``schemas`` needs no change to say something sensible.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.web.i18n import _

BY_TYPE = {
    "missing": "Fill in this field.",
    "string_too_short": "Fill in this field.",
    "string_too_long": "This text is too long.",
    "national_number_invalid": "This is not a valid national register number: check it for a typing error.",
    "national_number_is_bis": "This is a BIS number, not a national register number.",
    "iban_invalid": "This IBAN is not valid: check it for a typing error.",
    "ean_invalid": "This EAN code is not valid: a Belgian EAN has 18 digits and starts with 54.",
    "nis_code_invalid": "A NIS code has five digits and does not start with 0 (for example 44021 for Gent).",
    "literal_error": "Choose one of the options.",
    "greater_than": "The amount must be more than 0.",
    "greater_than_equal": "The amount may not be negative.",
    "decimal_parsing": "Give an amount, for example 1.080,00.",
    "decimal_type": "Give an amount, for example 1.080,00.",
    "decimal_max_places": "An amount has at most two decimals.",
    "date_from_datetime_parsing": "Give a valid date.",
    "date_parsing": "Give a valid date.",
    "date_type": "Give a valid date.",
    "too_short": "Add at least one line.",
}
M = TypeVar("M", bound=BaseModel)
_AMOUNT = re.compile(r"^-?[0-9.]*,[0-9]{1,2}$")


def amount(text: str) -> str:
    """Accept the Belgian way of writing amounts (``1.080,00``) as well as ``1080.00``."""
    text = text.strip().replace("€", "").replace(" ", "")
    if _AMOUNT.match(text):
        return text.replace(".", "").replace(",", ".")
    return text


def field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def messages(exc: ValidationError) -> dict[str, str]:
    """``{"tenant.iban": "Dit IBAN-nummer …"}``: the first Dutch message per field; a model-wide rule under ``""``."""
    out: dict[str, str] = {}
    for error in exc.errors():
        text = str(error.get("msg", "")).removeprefix("Value error, ")
        translated = _(text)
        if translated == text:  # no catalogue entry for the exact sentence: say it by the kind of error
            translated = _(BY_TYPE.get(str(error["type"]), "This value is not valid."))
        if error["type"] == "string_too_short" and error.get("input"):
            translated = _("Too short: at least %(n)s characters.") % {"n": (error.get("ctx") or {}).get("min_length")}
        out.setdefault(field_name(tuple(error["loc"])), translated)
    return out


def validate(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The API body, or the Dutch messages per field (the typed values stay with the caller to show again)."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, messages(exc)
