"""Validated identifiers: national register number, IBAN, EAN-18 connection point, NIS municipality code.

Why these are types and not plain strings: a mistyped national number or IBAN that slips into a case file ends
up on a signed agreement, in a claim to Wonen-Vlaanderen or in a payment, and is costly to correct afterwards.
Every identifier is therefore checked where it enters the system, with the check digits the number itself
carries, and normalised to one canonical form so that equal numbers compare equal.

The checks come from python-stdnum (maintained, tested against the official algorithms) rather than
hand-written checksums. Only the EAN-18 check digit is computed here, with stdnum's own GS1 routine, because
stdnum's ``ean`` module does not accept 18-digit codes.

Error messages are read by social workers in the OCMW, not by developers: they say in plain words what is wrong
and never mention checksums, regular expressions or exception names. They are raised as
``PydanticCustomError`` so the API shows the message as is (without pydantic's "Value error, " prefix) and
clients can tell the cases apart by the error ``type``.

``mask_national_number`` and ``mask_iban`` give a recognisable but non-identifying form for screens and logs.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from stdnum import ean, iban, numdb
from stdnum.be import bis, nn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

__all__ = [
    "Ean18",
    "Iban",
    "NationalNumber",
    "NisCode",
    "mask_iban",
    "mask_national_number",
    "validate_ean18",
    "validate_iban",
    "validate_national_number",
    "validate_nis_code",
]

# Separators people type or copy from an eID card or bank statement; everything else is an error.
_SEPARATORS = re.compile(r"[\s.\-/]")


def _strip_separators(value: str) -> str:
    return _SEPARATORS.sub("", value)


# ---- National register number (rijksregisternummer) ------------------------------------------------------

_NN_PREFIX = "This is not a valid national register number (rijksregisternummer)"


def _nn_error(reason: str) -> PydanticCustomError:
    return PydanticCustomError("national_number_invalid", f"{_NN_PREFIX}: {reason}")


def validate_national_number(value: str) -> str:
    """Check a Belgian national register number and return it as 11 digits.

    Accepts the printed form ("85.07.30-033.28") as well as spaces or no separators at all. The mod-97 check
    (including the "2" prefix used for people born from 2000 on) is stdnum's. A BIS number (given to people
    not in the national register) is refused with its own message so the social worker knows what happened
    instead of hunting for a typing error.
    """
    number = nn.compact(value)
    if not number:
        raise _nn_error("the number is empty.")
    if not number.isdigit():
        raise _nn_error("it may only contain digits, with dots, dashes or spaces between them.")
    if len(number) != 11:
        raise _nn_error(f"it must have 11 digits, this one has {len(number)}.")
    try:
        return nn.validate(number)
    except InvalidChecksum:
        raise _nn_error("the check digits do not match.") from None
    except InvalidComponent:
        if bis.is_valid(number):
            raise PydanticCustomError(
                "national_number_is_bis",
                "This is a BIS number, not a national register number (rijksregisternummer). "
                "Please enter the person's national register number.",
            ) from None
        raise _nn_error("the first six digits are not a possible birth date.") from None
    except ValidationError:
        raise _nn_error("please check the number for a typing error.") from None


# ---- IBAN ---------------------------------------------------------------------------------------------------

_IBAN_PREFIX = "This IBAN is not valid"
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$")
_BBAN_PART = re.compile(r"(\d+)!")
_IBAN_REGISTRY = numdb.get("iban")


def _iban_error(reason: str) -> PydanticCustomError:
    return PydanticCustomError("iban_invalid", f"{_IBAN_PREFIX}: {reason}")


def _expected_iban_length(number: str) -> tuple[str, int] | None:
    """Country name and IBAN length from stdnum's IBAN registry, or None for an unknown country code."""
    info = _IBAN_REGISTRY.info(number)
    country = info[0][1] if info else {}
    if not country or "bban" not in country:
        return None
    return country.get("country", number[:2]), 4 + sum(int(n) for n in _BBAN_PART.findall(country["bban"]))


def validate_iban(value: str) -> str:
    """Check an IBAN of any country and return it without spaces, in upper case.

    The length is checked before the check digits, so someone who dropped a digit reads "wrong length" rather
    than "check digits do not match". After the international mod-97 check, stdnum's national check runs
    where it exists (for Belgium: the account's own two check digits). One national rule is deliberately
    not enforced: stdnum refuses a Belgian IBAN whose bank code is missing from its bundled bank list. That
    list ages with the installed package, and a real account of a new bank must not block a case; a typing
    error in the bank code is already caught by both check-digit pairs.
    """
    number = _strip_separators(value).upper()
    if not number:
        raise _iban_error("it is empty.")
    if not _IBAN_SHAPE.match(number):
        raise _iban_error(
            "it must start with two letters for the country and two check digits, followed by letters and digits only."
        )
    expected = _expected_iban_length(number)
    if expected is None:
        raise _iban_error(f"'{number[:2]}' is not a country that uses IBANs.")
    country, length = expected
    if len(number) != length:
        raise _iban_error(
            f"it has the wrong length (an IBAN from {country} has {length} characters, this one has {len(number)})."
        )
    try:
        iban.validate(number, check_country=False)
    except InvalidChecksum:
        raise _iban_error("the check digits do not match.") from None
    except ValidationError:
        raise _iban_error(f"the account number part does not have the format used in {country}.") from None
    try:
        iban.validate(number, check_country=True)
    except InvalidChecksum:
        raise _iban_error("the check digits do not match.") from None
    except InvalidComponent:
        pass  # bank code unknown to stdnum's bank list: accepted on purpose, see the docstring
    except ValidationError:
        raise _iban_error(f"the account number part is not valid for {country}.") from None
    return number


# ---- EAN-18 connection point ------------------------------------------------------------------------------

_EAN_PREFIX = "This is not a valid EAN code of a connection point"


def _ean_error(reason: str) -> PydanticCustomError:
    return PydanticCustomError("ean_invalid", f"{_EAN_PREFIX}: {reason}")


def validate_ean18(value: str) -> str:
    """Check an 18-digit EAN (GSRN) code of a Belgian electricity or gas connection point.

    The last digit is the GS1 mod-10 check digit over the first 17 (weights 3 and 1 from the right), computed
    with ``stdnum.ean.calc_check_digit``, which works for any length although stdnum's ``ean.validate`` only
    accepts 8, 12, 13 and 14 digits. Belgian codes carry the GS1 Belgium prefix 54; a code without it is
    almost always a meter number or another number copied from the wrong line of the bill.
    """
    number = _strip_separators(value)
    if not number:
        raise _ean_error("it is empty.")
    if not number.isdigit():
        raise _ean_error("it may only contain digits.")
    if len(number) != 18:
        raise _ean_error(f"it must have 18 digits, this one has {len(number)}.")
    if not number.startswith("54"):
        raise _ean_error("a Belgian EAN code starts with 54. Please check that this is not the meter number.")
    if ean.calc_check_digit(number[:17]) != number[17]:
        raise _ean_error("the check digit does not match.")
    return number


# ---- NIS municipality code ----------------------------------------------------------------------------------


def validate_nis_code(value: str) -> str:
    """Check the form of a Belgian NIS (Statbel) municipality code: five digits, not starting with 0.

    Only the form is checked: municipality mergers change the list of codes, so whether a code exists on a
    given date is a question for the dated municipality data, not for this type.
    """
    number = value.strip()
    if len(number) != 5 or not number.isascii() or not number.isdigit() or number[0] == "0":
        raise PydanticCustomError(
            "nis_code_invalid",
            "This is not a valid NIS code: a municipality's NIS code has five digits and does not start "
            "with 0 (for example 44021 for Gent).",
        )
    return number


# ---- Types ----------------------------------------------------------------------------------------------------

NationalNumber = Annotated[
    str,
    AfterValidator(validate_national_number),
    Field(
        description="Belgian national register number (rijksregisternummer); dots, dashes and spaces are "
        "accepted and removed, the value is stored as 11 digits; its check digits are verified.",
        examples=["85.07.30-033.28", "85073003328"], json_schema_extra={"format": "be-national-number"},
    ),
]

Iban = Annotated[
    str,
    AfterValidator(validate_iban),
    Field(
        description="IBAN of any country; spaces are accepted and removed, stored in upper case; its check digits "
        "are verified.",
        examples=["BE71096123456769", "BE71 0961 2345 6769"], json_schema_extra={"format": "iban"},
    ),
]

Ean18 = Annotated[
    str,
    AfterValidator(validate_ean18),
    Field(
        description="18-digit EAN code of a Belgian electricity or gas connection point (starts with 54).",
        examples=["541448820000000008"], json_schema_extra={"format": "ean18"},
    ),
]

NisCode = Annotated[
    str,
    AfterValidator(validate_nis_code),
    Field(
        description="Five-digit NIS code of a Belgian municipality.",
        examples=["44021", "11002"], json_schema_extra={"pattern": r"^\s*[1-9][0-9]{4}\s*$"},
    ),
]


# ---- Masking ----------------------------------------------------------------------------------------------------


def mask_national_number(value: str) -> str:
    """Show a national number as "85.07.30-***.**": birth date visible, serial number and check digits hidden.

    Enough for a social worker to recognise the person on screen, not enough to use the number elsewhere.
    Anything that is not 11 digits is masked completely, so a malformed value never leaks into a log.
    """
    number = nn.compact(value)
    if len(number) != 11 or not number.isdigit():
        return "***********"
    return f"{number[0:2]}.{number[2:4]}.{number[4:6]}-***.**"


def mask_iban(value: str) -> str:
    """Show an IBAN as "BE71 **** **** 6769": country, check digits and the last four characters visible.

    The result is grouped by four like a printed IBAN. Values too short to be an IBAN are masked completely.
    """
    number = _strip_separators(value).upper()
    if len(number) < 12:
        return "****"
    masked = number[:4] + "*" * (len(number) - 8) + number[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def ocmw_of(municipality_nis: str) -> str:
    """Each municipality has one OCMW; its id is derived from the NIS code (e.g. ocmw-44021 for Gent)."""
    return f"ocmw-{municipality_nis}"
