"""Identifier types: valid values pass and are normalised, invalid ones fail with a plain-language message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from stdnum import iban as stdnum_iban

from schemas.identifiers import (
    Ean18,
    Iban,
    NationalNumber,
    NisCode,
    mask_iban,
    mask_national_number,
)


class Person(BaseModel):
    national_number: NationalNumber
    iban: Iban


NN = TypeAdapter(NationalNumber)
IBAN = TypeAdapter(Iban)
EAN = TypeAdapter(Ean18)
NIS = TypeAdapter(NisCode)


def make_national_number(birth: str, serial: str, born_from_2000: bool) -> str:
    """Build a valid number the way the register does: 97 - (first 9 digits mod 97), with a "2" in front of
    the 9 digits for people born from 2000 on."""
    base = birth + serial
    check = 97 - int(("2" if born_from_2000 else "") + base) % 97
    return f"{base}{check:02d}"


def make_ean18(first17: str) -> str:
    """GS1 mod-10, written out independently of the code under test: weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first17)))
    return first17 + str((10 - total % 10) % 10)


def error_of(adapter: TypeAdapter[Any], value: str) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(value)
    error = info.value.errors()[0]
    return error["type"], error["msg"]


# ---- National number --------------------------------------------------------------------------------------


def test_constructed_numbers_match_known_examples() -> None:
    assert make_national_number("850730", "033", born_from_2000=False) == "85073003328"
    assert make_national_number("170730", "033", born_from_2000=True) == "17073003384"


@pytest.mark.parametrize(
    ("birth", "serial", "from_2000"),
    [
        ("850730", "033", False),  # 30 July 1985
        ("641231", "998", False),  # 31 December 1964
        ("010203", "145", True),  # 3 February 2001
        ("200229", "002", True),  # 29 February 2020
    ],
)
def test_valid_national_numbers(birth: str, serial: str, from_2000: bool) -> None:
    number = make_national_number(birth, serial, from_2000)
    assert NN.validate_python(number) == number


def test_post_2000_number_is_not_valid_with_the_pre_2000_check() -> None:
    # The same digits with the 1900 check digits must not pass for someone born in 2001.
    pre = make_national_number("010203", "145", born_from_2000=False)
    post = make_national_number("010203", "145", born_from_2000=True)
    assert pre != post
    assert NN.validate_python(post) == post


@pytest.mark.parametrize("value", ["85.07.30-033.28", "85 07 30 033 28", " 85073003328 ", "850730-03328"])
def test_national_number_separators_are_removed(value: str) -> None:
    assert NN.validate_python(value) == "85073003328"


def test_national_number_wrong_check_digits() -> None:
    kind, message = error_of(NN, "85073003329")
    assert kind == "national_number_invalid"
    assert message == (
        "This is not a valid national register number (rijksregisternummer): the check digits do not match."
    )


def test_national_number_one_digit_changed() -> None:
    _, message = error_of(NN, "85073103328")
    assert "check digits do not match" in message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("8507300332", "must have 11 digits, this one has 10"),
        ("850730033288", "must have 11 digits, this one has 12"),
        ("85O73003328", "may only contain digits"),
        ("", "empty"),
    ],
)
def test_national_number_form_errors(value: str, fragment: str) -> None:
    kind, message = error_of(NN, value)
    assert kind == "national_number_invalid"
    assert message.startswith("This is not a valid national register number (rijksregisternummer): ")
    assert fragment in message


def test_national_number_impossible_month() -> None:
    number = make_national_number("851330", "033", born_from_2000=False)  # month 13, correct check digits
    kind, message = error_of(NN, number)
    assert kind == "national_number_invalid"
    assert "birth date" in message


def test_bis_number_gets_its_own_message() -> None:
    number = make_national_number("852730", "033", born_from_2000=False)  # month + 20: a BIS number
    kind, message = error_of(NN, number)
    assert kind == "national_number_is_bis"
    assert "BIS number" in message


def test_messages_have_no_pydantic_prefix_in_a_model() -> None:
    with pytest.raises(ValidationError) as info:
        Person(national_number="85073003329", iban="BE71096123456769")
    message = info.value.errors()[0]["msg"]
    assert not message.startswith("Value error")
    assert info.value.errors()[0]["loc"] == ("national_number",)


# ---- IBAN ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("BE71096123456769", "BE71096123456769"),
        ("BE71 0961 2345 6769", "BE71096123456769"),
        ("be71 0961 2345 6769", "BE71096123456769"),
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ],
)
def test_valid_ibans(value: str, normalised: str) -> None:
    assert IBAN.validate_python(value) == normalised


def test_iban_one_digit_changed() -> None:
    kind, message = error_of(IBAN, "BE71096123456768")
    assert kind == "iban_invalid"
    assert message == "This IBAN is not valid: the check digits do not match."


def test_iban_wrong_length() -> None:
    kind, message = error_of(IBAN, "BE7109612345676")
    assert kind == "iban_invalid"
    assert message.startswith("This IBAN is not valid: it has the wrong length")
    assert "16 characters, this one has 15" in message


def test_belgian_national_check_digits_are_checked() -> None:
    # International check digits correct, but the Belgian account's own check digits (69) replaced by 68.
    bban = "096123456768"
    number = "BE" + stdnum_iban.calc_check_digits("BE00" + bban) + bban
    assert stdnum_iban.is_valid(number, check_country=False)
    _, message = error_of(IBAN, number)
    assert message == "This IBAN is not valid: the check digits do not match."


def test_belgian_bank_code_missing_from_stdnum_list_is_accepted() -> None:
    account = "1388117351"  # bank code 138 is not in stdnum's list
    bban = account + f"{int(account) % 97 or 97:02d}"
    number = "BE" + stdnum_iban.calc_check_digits("BE00" + bban) + bban
    assert not stdnum_iban.is_valid(number)  # stdnum alone would refuse it
    assert IBAN.validate_python(number) == number


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("XX71096123456769", "not a country that uses IBANs"),
        ("BE71-0961-2345-676!", "letters and digits only"),
        ("096123456769", "must start with two letters"),
        ("", "empty"),
    ],
)
def test_iban_form_errors(value: str, fragment: str) -> None:
    kind, message = error_of(IBAN, value)
    assert kind == "iban_invalid"
    assert message.startswith("This IBAN is not valid: ")
    assert fragment in message


# ---- EAN-18 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first17", ["54144882000000000", "54145678901234567", "54141234500000012"])
def test_valid_ean18(first17: str) -> None:
    code = make_ean18(first17)
    assert len(code) == 18
    assert EAN.validate_python(code) == code


def test_ean18_known_value_and_spaces() -> None:
    assert EAN.validate_python("5414 4882 0000 0000 08") == "541448820000000008"


def test_ean18_wrong_check_digit() -> None:
    code = make_ean18("54144882000000000")
    wrong = code[:17] + str((int(code[17]) + 1) % 10)
    kind, message = error_of(EAN, wrong)
    assert kind == "ean_invalid"
    assert message.endswith("the check digit does not match.")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("54144882000000000", "must have 18 digits, this one has 17"),
        ("5414488200000000081", "must have 18 digits, this one has 19"),
        ("54144882000000000A", "only contain digits"),
        (make_ean18("87144882000000000"), "starts with 54"),
    ],
)
def test_ean18_form_errors(value: str, fragment: str) -> None:
    kind, message = error_of(EAN, value)
    assert kind == "ean_invalid"
    assert fragment in message


# ---- NIS code -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["44021", "11002", "21004", " 44021 "])
def test_valid_nis_codes(value: str) -> None:
    assert NIS.validate_python(value) == value.strip()


@pytest.mark.parametrize("value", ["04021", "4402", "440210", "44O21", "", "４４０２１"])
def test_invalid_nis_codes(value: str) -> None:
    kind, message = error_of(NIS, value)
    assert kind == "nis_code_invalid"
    assert "five digits" in message


# ---- Masking and schema examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["85073003328", "85.07.30-033.28"])
def test_mask_national_number(value: str) -> None:
    assert mask_national_number(value) == "85.07.30-***.**"


@pytest.mark.parametrize("value", ["123", "abcdefghijk", ""])
def test_mask_national_number_never_leaks_malformed_values(value: str) -> None:
    assert mask_national_number(value) == "***********"


def test_mask_iban() -> None:
    assert mask_iban("BE71096123456769") == "BE71 **** **** 6769"
    assert mask_iban("be71 0961 2345 6769") == "BE71 **** **** 6769"
    assert mask_iban("BE71") == "****"
    masked = mask_iban("NL91ABNA0417164300")
    assert masked.startswith("NL91 ")
    assert masked.replace(" ", "").endswith("4300")
    assert "ABNA" not in masked


@pytest.mark.parametrize("annotated", [NationalNumber, Iban, Ean18, NisCode])
def test_schema_examples_are_valid(annotated: Any) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(annotated)
    examples = adapter.json_schema()["examples"]
    assert examples
    for example in examples:
        adapter.validate_python(example)
