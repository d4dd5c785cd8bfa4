"""FBU rule data and pure rule functions: exact amounts at boundaries, rounding, eligibility, validation."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.common import NoRuleSetError
from schemas.fbu_rules import (
    Eligibility,
    FbuRuleBook,
    FbuRuleSet,
    check_eligibility,
    compute_payouts,
    landlord_payment_cap_on,
    landlord_payment_guideline,
    select_rule_set,
    tranche_amount,
)
from vangnet.rulebooks.rulebook import DEFAULT_FBU_RULES, RuleBookError, clear_cache, load_fbu_rule_book

D = Decimal


@pytest.fixture(scope="module")
def book() -> FbuRuleBook:
    return load_fbu_rule_book()


def by_id(book: FbuRuleBook, rule_set_id: str) -> FbuRuleSet:
    return next(s for s in book.rule_sets if s.id == rule_set_id)


def raw_book() -> dict[str, Any]:
    return json.loads(DEFAULT_FBU_RULES.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict[str, Any], name: str = "fbu.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---- the packaged data -------------------------------------------------------------------------------------


def test_packaged_book_matches_domain_table(book: FbuRuleBook) -> None:
    assert [s.id for s in book.rule_sets] == ["fbu-2020-covid", "fbu-2020", "fbu-2022"]
    covid, y2020, y2022 = book.rule_sets
    assert (covid.valid_from, covid.valid_until) == (date(2020, 6, 1), date(2020, 9, 30))
    assert (y2020.valid_from, y2020.valid_until) == (date(2020, 10, 1), date(2022, 8, 31))
    assert (y2022.valid_from, y2022.valid_until) == (date(2022, 9, 1), None)
    assert [s.forfait for s in book.rule_sets] == [D("211"), D("211"), D("422")]
    assert [s.tranche_1_pct for s in book.rule_sets] == [D("0.45"), D("0.25"), D("0.45")]
    assert [s.tranche_2_pct for s in book.rule_sets] == [D("0.35"), D("0.35"), D("0.15")]
    assert [s.tranche_1_cap for s in book.rule_sets] == [None, None, D("1185")]
    assert [s.tranche_2_cap for s in book.rule_sets] == [None, None, D("395")]
    assert [(s.arrears_months_min, s.arrears_months_max) for s in book.rule_sets] == [
        (D(2), D(6)),
        (D(2), D(6)),
        (None, None),
    ]
    assert [s.svk_eligible for s in book.rule_sets] == [False, False, True]
    assert [s.agreement_amendable for s in book.rule_sets] == [False, False, True]
    for s in book.rule_sets:
        assert s.arrears_since_earliest == date(2020, 4, 1)
        assert (s.signature_deadline_days, s.breach_grace_days, s.stable_housing_kept_months) == (30, 30, 6)
        assert (s.landlord_payment_working_days, s.landlord_payment_pct) == (10, D("0.50"))
        assert "L4890-5009" in s.source and "⚑" in s.source
        assert s.assumptions
    assert [(c.valid_from, c.cap) for c in book.landlord_payment_caps] == [
        (date(2020, 1, 1), D("1250")),
        (date(2021, 1, 1), D("1272")),
        (date(2022, 1, 1), D("1316")),
        (date(2024, 1, 1), D("1482")),
    ]
    assert all("⚑" in c.source and "verify" in c.source for c in book.landlord_payment_caps)


def test_amounts_are_strings_in_the_file() -> None:
    """Floats in JSON would make 0.45 inexact; the packaged file must keep them as strings."""
    for s in raw_book()["rule_sets"]:
        for key in ("forfait", "tranche_1_pct", "tranche_2_pct", "landlord_payment_pct"):
            assert isinstance(s[key], str), key
    assert "budget" not in raw_book()


def test_rule_set_round_trips_through_json_and_temporal_converter(book: FbuRuleBook) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter

    for s in book.rule_sets:
        assert FbuRuleSet.model_validate_json(s.model_dump_json()) == s
        converter = pydantic_data_converter.payload_converter
        payloads = converter.to_payloads([s])
        assert converter.from_payloads(payloads, [FbuRuleSet]) == [s]


# ---- selection by submission date --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2020, 6, 1), "fbu-2020-covid"),
        (date(2020, 9, 30), "fbu-2020-covid"),
        (date(2020, 10, 1), "fbu-2020"),
        (date(2022, 8, 31), "fbu-2020"),
        (date(2022, 9, 1), "fbu-2022"),
        (date(2099, 12, 31), "fbu-2022"),
    ],
)
def test_select_rule_set_boundaries(book: FbuRuleBook, on: date, expected: str) -> None:
    assert select_rule_set(book, on).id == expected


def test_no_rule_set_before_the_fund(book: FbuRuleBook) -> None:
    with pytest.raises(NoRuleSetError, match=r"2020-05-31.*fbu-2020-covid.*2020-06-01"):
        select_rule_set(book, date(2020, 5, 31))
    assert issubclass(NoRuleSetError, ValueError)


def test_no_rule_set_after_a_closed_last_set(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][-1]["valid_until"] = "2025-12-31"
    closed = load_fbu_rule_book(write(tmp_path, data))
    assert select_rule_set(closed, date(2025, 12, 31)).id == "fbu-2022"
    with pytest.raises(NoRuleSetError, match=r"2026-01-01.*must add a rule set"):
        select_rule_set(closed, date(2026, 1, 1))


# ---- payouts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "arrears", "forfait", "tranche_1", "tranche_2", "total"),
    [
        # fbu-2020-covid: 45% / 35%, no caps
        (date(2020, 6, 1), "2000.00", "211.00", "900.00", "700.00", "1811.00"),
        (date(2020, 9, 30), "5000.00", "211.00", "2250.00", "1750.00", "4211.00"),
        # fbu-2020: 25% / 35%, no caps
        (date(2020, 10, 1), "2000.00", "211.00", "500.00", "700.00", "1411.00"),
        (date(2022, 8, 31), "5000.00", "211.00", "1250.00", "1750.00", "3211.00"),
        # fbu-2022: 45% max 1185 / 15% max 395
        (date(2022, 9, 1), "2000.00", "422.00", "900.00", "300.00", "1622.00"),
        (date(2022, 9, 1), "2633.33", "422.00", "1185.00", "395.00", "2002.00"),
        (date(2022, 9, 1), "2633.32", "422.00", "1184.99", "395.00", "2001.99"),
        (date(2022, 9, 1), "2633.30", "422.00", "1184.99", "395.00", "2001.99"),
        (date(2022, 9, 1), "2633.29", "422.00", "1184.98", "394.99", "2001.97"),
        (date(2022, 9, 1), "10000.00", "422.00", "1185.00", "395.00", "2002.00"),
    ],
)
def test_payouts_exact(
    book: FbuRuleBook, on: date, arrears: str, forfait: str, tranche_1: str, tranche_2: str, total: str
) -> None:
    rule_set = select_rule_set(book, on)
    payout = compute_payouts(rule_set, D(arrears))
    assert payout.rule_set_id == rule_set.id
    assert (payout.forfait, payout.tranche_1, payout.tranche_2, payout.total) == (
        D(forfait),
        D(tranche_1),
        D(tranche_2),
        D(total),
    )
    # always exactly two decimals, so the string form is stable
    for amount in (payout.forfait, payout.tranche_1, payout.tranche_2, payout.total):
        assert amount.as_tuple().exponent == -2
    assert payout.total == payout.forfait + payout.tranche_1 + payout.tranche_2


def test_fbu_2022_maximum_per_case_is_2002(book: FbuRuleBook) -> None:
    rule_set = by_id(book, "fbu-2022")
    assert compute_payouts(rule_set, D("999999.99")).total == D("2002.00")
    # both caps bind from exactly 2633.33 on (after rounding), not one cent earlier for tranche 1
    assert compute_payouts(rule_set, D("2633.33")).tranche_1 == D("1185.00")
    assert compute_payouts(rule_set, D("2633.32")).tranche_1 == D("1184.99")
    # tranche 2 reaches its cap earlier: 2633.30 x 0.15 = 394.995 -> 395.00
    assert compute_payouts(rule_set, D("2633.30")).tranche_2 == D("395.00")
    assert compute_payouts(rule_set, D("2633.29")).tranche_2 == D("394.99")


@pytest.mark.parametrize(
    ("arrears", "pct", "expected"),
    [
        ("100.02", "0.25", "25.01"),  # 25.005 rounds half-up
        ("100.06", "0.25", "25.02"),  # 25.015 rounds half-up (banker's rounding would give 25.02 too)
        ("100.10", "0.25", "25.03"),  # 25.025 -> 25.03 (banker's would give 25.02)
        ("100.01", "0.25", "25.00"),  # 25.0025 rounds down
        ("0.01", "0.35", "0.00"),  # 0.0035 rounds to zero
        ("0.03", "0.15", "0.00"),  # 0.0045 rounds down, it is not 0.005
        ("0.10", "0.45", "0.05"),  # 0.045 -> 0.05
        ("1.11", "0.45", "0.50"),  # 0.4995 -> 0.50
    ],
)
def test_tranche_rounds_half_up(arrears: str, pct: str, expected: str) -> None:
    assert tranche_amount(D(arrears), D(pct), None) == D(expected)


def test_round_then_cap() -> None:
    """Rounding comes first: 1184.9985 rounds to 1185.00 and the cap of 1185 does not lower it."""
    assert tranche_amount(D("2633.33"), D("0.45"), D("1185")) == D("1185.00")
    assert tranche_amount(D("2633.33"), D("0.45"), D("1184.99")) == D("1184.99")


def test_negative_arrears_refused(book: FbuRuleBook) -> None:
    with pytest.raises(ValueError, match="negative"):
        compute_payouts(by_id(book, "fbu-2022"), D("-1"))


cents = st.integers(min_value=0, max_value=10**9).map(lambda c: D(c) / 100)
fractions = st.integers(min_value=0, max_value=10_000).map(lambda p: D(p) / 10_000)
caps = st.integers(min_value=1, max_value=10**7).map(lambda c: D(c) / 100)


@given(arrears=cents, pct=fractions, cap=caps)
def test_tranche_property(arrears: Decimal, pct: Decimal, cap: Decimal) -> None:
    amount = tranche_amount(arrears, pct, cap)
    assert D(0) <= amount <= cap
    assert amount.as_tuple().exponent == -2
    rounded = (arrears * pct).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    if rounded <= cap:
        assert amount == rounded
    else:
        assert amount == cap


# ---- landlord payment guideline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrears", "on", "expected"),
    [
        ("1000.00", date(2020, 6, 15), "500.00"),
        ("1000.01", date(2020, 6, 15), "500.01"),  # 500.005 half-up
        ("3000.00", date(2020, 12, 31), "1250.00"),
        ("3000.00", date(2021, 1, 1), "1272.00"),
        ("3000.00", date(2022, 9, 1), "1316.00"),
        ("3000.00", date(2023, 12, 31), "1316.00"),
        ("3000.00", date(2024, 1, 1), "1482.00"),
        ("2963.99", date(2024, 6, 1), "1482.00"),  # 1481.995 rounds to the cap
        ("2963.98", date(2024, 6, 1), "1481.99"),
    ],
)
def test_landlord_payment_guideline(book: FbuRuleBook, arrears: str, on: date, expected: str) -> None:
    rule_set = select_rule_set(book, max(on, date(2020, 6, 1)))
    assert landlord_payment_guideline(book, rule_set, D(arrears), on) == D(expected)


def test_landlord_payment_cap_before_first(book: FbuRuleBook) -> None:
    assert landlord_payment_cap_on(book, date(2020, 1, 1)).cap == D("1250")
    with pytest.raises(NoRuleSetError, match="2019-12-31"):
        landlord_payment_cap_on(book, date(2019, 12, 31))


# ---- eligibility -------------------------------------------------------------------------------------------


def eligibility(rules: FbuRuleBook, rule_set_id: str, **overrides: Any) -> Eligibility:
    args: dict[str, Any] = {
        "market": "private",
        "arrears_amount": D("2400.00"),
        "arrears_since": date(2020, 4, 1),
        "monthly_rent": D("800.00"),
    }
    args.update(overrides)
    return check_eligibility(by_id(rules, rule_set_id), **args)


def test_eligible_private_case(book: FbuRuleBook) -> None:
    result = eligibility(book, "fbu-2020")
    assert result.eligible and result.reasons == []
    assert result.arrears_months == D("3.00")
    assert result.rule_set_id == "fbu-2020"


def test_social_housing_refused(book: FbuRuleBook) -> None:
    for rule_set_id in ("fbu-2020-covid", "fbu-2020", "fbu-2022"):
        result = eligibility(book, rule_set_id, market="social")
        assert not result.eligible
        assert result.reasons == ["Social housing (SHM) tenants are not covered by the fund."]


def test_svk_before_and_after_2022(book: FbuRuleBook) -> None:
    for rule_set_id in ("fbu-2020-covid", "fbu-2020"):
        result = eligibility(book, rule_set_id, market="svk", book=book)
        assert not result.eligible
        assert result.reasons == [
            "Tenants of a social rental agency (SVK) are covered only from rule set fbu-2022 "
            "(submitted from 2022-09-01)."
        ]
    without_book = eligibility(book, "fbu-2020", market="svk")
    assert without_book.reasons == [
        "Tenants of a social rental agency (SVK) are not covered by rule set fbu-2020 "
        "(submitted from 2020-10-01 to 2022-08-31)."
    ]
    assert eligibility(book, "fbu-2022", market="svk", book=book).eligible


def test_arrears_since_boundary(book: FbuRuleBook) -> None:
    assert eligibility(book, "fbu-2022", arrears_since=date(2020, 4, 1)).eligible
    late = eligibility(book, "fbu-2022", arrears_since=date(2020, 3, 31))
    assert not late.eligible
    assert late.reasons == ["The arrears must have arisen on or after 2020-04-01."]


@pytest.mark.parametrize(
    ("arrears", "eligible", "months"),
    [
        ("1600.00", True, "2.00"),  # exactly 2 months: inclusive
        ("4800.00", True, "6.00"),  # exactly 6 months: inclusive
        ("1599.99", False, "2.00"),  # rounds to 2.00 but is below 2 months
        ("4800.01", False, "6.00"),
        ("1200.00", False, "1.50"),
        ("5600.00", False, "7.00"),
    ],
)
def test_months_bounds_inclusive(book: FbuRuleBook, arrears: str, eligible: bool, months: str) -> None:
    for rule_set_id in ("fbu-2020-covid", "fbu-2020"):
        result = eligibility(book, rule_set_id, arrears_amount=D(arrears))
        assert result.eligible is eligible
        assert result.arrears_months == D(months)
    # the 2022 rule set has no minimum or maximum
    assert eligibility(book, "fbu-2022", arrears_amount=D(arrears)).eligible


def test_months_reason_text(book: FbuRuleBook) -> None:
    result = eligibility(book, "fbu-2020", arrears_amount=D("1200.00"))
    assert result.reasons == [
        "Under rule set fbu-2020 the arrears must be between 2 and 6 months of rent; "
        "these arrears are 1.50 months."
    ]
    # when two decimals would show "2.00", four are shown so the refusal does not look contradictory
    just_below = eligibility(book, "fbu-2020", arrears_amount=D("1599.99"))
    assert just_below.arrears_months == D("2.00")
    assert just_below.reasons == [
        "Under rule set fbu-2020 the arrears must be between 2 and 6 months of rent; "
        "these arrears are 1.9999 months."
    ]
    just_above = eligibility(book, "fbu-2020", arrears_amount=D("4800.01"))
    assert just_above.reasons[0].endswith("these arrears are 6.0001 months.")


def test_arrears_months_rounded_half_up(book: FbuRuleBook) -> None:
    # 2005 / 800 = 2.50625 -> 2.51 ; 2004 / 800 = 2.505 -> 2.51 (half-up)
    assert eligibility(book, "fbu-2022", arrears_amount=D("2005")).arrears_months == D("2.51")
    assert eligibility(book, "fbu-2022", arrears_amount=D("2004")).arrears_months == D("2.51")


def test_all_reasons_collected(book: FbuRuleBook) -> None:
    result = eligibility(
        book, "fbu-2020", market="svk", arrears_since=date(2020, 3, 31), arrears_amount=D("1200"), book=book
    )
    assert not result.eligible
    assert len(result.reasons) == 3
    assert result.reasons[0].startswith("Tenants of a social rental agency (SVK)")
    assert result.reasons[1] == "The arrears must have arisen on or after 2020-04-01."
    assert result.reasons[2].endswith("these arrears are 1.50 months.")


def test_zero_rent_refused(book: FbuRuleBook) -> None:
    with pytest.raises(ValueError, match="monthly_rent"):
        eligibility(book, "fbu-2022", monthly_rent=D("0"))


# ---- rule book validation -------------------------------------------------------------------------------


def test_overlap_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][1]["valid_from"] = "2020-09-30"
    with pytest.raises(RuleBookError, match=r"(?s)fbu\.json.*overlap") as err:
        load_fbu_rule_book(write(tmp_path, data))
    assert str(tmp_path) in str(err.value)


def test_gap_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][2]["valid_from"] = "2022-09-02"
    with pytest.raises(RuleBookError, match=r"gap between rule sets fbu-2020 and fbu-2022.*2022-09-01"):
        load_fbu_rule_book(write(tmp_path, data))


def test_unsorted_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"].reverse()
    with pytest.raises(RuleBookError, match="sorted"):
        load_fbu_rule_book(write(tmp_path, data))


def test_open_ended_only_last(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][1]["valid_until"] = None
    with pytest.raises(RuleBookError, match="only the last rule set may be open-ended"):
        load_fbu_rule_book(write(tmp_path, data))


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][2]["id"] = "fbu-2020"
    with pytest.raises(RuleBookError, match=r"unique.*fbu-2020"):
        load_fbu_rule_book(write(tmp_path, data))


def test_until_before_from_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][0]["valid_until"] = "2020-05-01"
    with pytest.raises(RuleBookError, match="valid_until 2020-05-01 is before valid_from"):
        load_fbu_rule_book(write(tmp_path, data))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tranche_1_pct", "1.5"),
        ("tranche_2_pct", "-0.1"),
        ("landlord_payment_pct", "2"),
        ("tranche_1_cap", "0"),
        ("forfait", "0"),
        ("forfait", "-211"),
        ("forfait", "211.005"),
        ("arrears_months_min", "7"),  # above the maximum of 6
        ("signature_deadline_days", 0),
    ],
)
def test_bad_values_refused(tmp_path: Path, field: str, value: Any) -> None:
    data = raw_book()
    data["rule_sets"][0][field] = value
    with pytest.raises(RuleBookError, match=field):
        load_fbu_rule_book(write(tmp_path, data))


def test_unknown_field_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][0]["tranche1_cap"] = "100"
    with pytest.raises(RuleBookError, match="tranche1_cap"):
        load_fbu_rule_book(write(tmp_path, data))


def test_bad_caps_refused(tmp_path: Path) -> None:
    data = raw_book()
    data["landlord_payment_caps"][1]["cap"] = "0"
    with pytest.raises(RuleBookError, match="cap"):
        load_fbu_rule_book(write(tmp_path, data, "a.json"))
    data = raw_book()
    data["landlord_payment_caps"].reverse()
    with pytest.raises(RuleBookError, match="landlord_payment_caps must be sorted"):
        load_fbu_rule_book(write(tmp_path, data, "b.json"))
    data = raw_book()
    data["landlord_payment_caps"] = data["landlord_payment_caps"][1:]
    with pytest.raises(RuleBookError, match="every covered date needs a cap"):
        load_fbu_rule_book(write(tmp_path, data, "c.json"))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(RuleBookError, match=r"missing\.json"):
        load_fbu_rule_book(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuleBookError, match=r"broken\.json is not valid JSON \(line 1"):
        load_fbu_rule_book(broken)


def test_book_model_validation_directly() -> None:
    with pytest.raises(ValidationError):
        FbuRuleBook.model_validate({"rule_sets": [], "landlord_payment_caps": []})


def test_cache_by_path_and_mtime(tmp_path: Path) -> None:
    clear_cache()
    path = write(tmp_path, raw_book())
    first = load_fbu_rule_book(path)
    assert load_fbu_rule_book(path) is first
    data = raw_book()
    data["rule_sets"][2]["forfait"] = "500.00"
    path.write_text(json.dumps(data), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_fbu_rule_book(path)
    assert second is not first
    assert second.rule_sets[2].forfait == D("500.00")
    # the default path and an explicit path to the packaged file share one cache entry
    assert load_fbu_rule_book() is load_fbu_rule_book(DEFAULT_FBU_RULES)
