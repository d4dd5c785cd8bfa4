"""Energy rule data and pure rule functions: exact values at every boundary, windows, validation, round trip."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.common import NoRuleSetError
from schemas.energy_rules import (
    EnergyRuleBook,
    EnergyRuleSet,
    NoEnergyRuleSetError,
    NoEuroCreditError,
    SeasonalWindow,
    credit_index_factor,
    emergency_credit,
    half_monthly_topup,
    heating_eligible,
    heating_support_ends,
    heating_support_open,
    in_seasonal_window,
    in_window,
    in_winter_ban,
    minimal_supply_may_be_restored,
    next_heating_support_start,
    next_seasonal_window_start,
    next_window_start,
    reimbursement_rate,
    select_energy_rule_set,
    window_end,
    winter_ban_ends,
)
from vangnet.rulebooks.rulebook import (
    DEFAULT_ENERGY_RULES,
    RuleBookError,
    clear_energy_cache,
    load_energy_rule_book,
)

D = Decimal


@pytest.fixture(scope="module")
def book() -> EnergyRuleBook:
    return load_energy_rule_book()


def raw_book() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"))
    return data


def write(tmp_path: Path, data: dict[str, Any], name: str = "energy.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def window(book: EnergyRuleBook, window_id: str) -> SeasonalWindow:
    return book.window_versions(window_id)[-1]


# ---- the packaged data -------------------------------------------------------------------------------------


def test_packaged_book_matches_domain_table(book: EnergyRuleBook) -> None:
    assert [s.id for s in book.rule_sets] == ["energy-pre-2022-07", "energy-2022-07"]
    old, new = book.rule_sets
    assert old.valid_until == date(2022, 6, 30)
    assert (new.valid_from, new.valid_until) == (date(2022, 7, 1), None)
    assert (old.registered_letter_required, new.registered_letter_required) == (True, False)
    assert (old.emergency_credit_unit, new.emergency_credit_unit) == ("kwh", "eur")
    assert old.minimal_supply_restore_rule == "half_repaid_on_request"
    assert (old.minimal_supply_restore_repaid_share, old.minimal_supply_restore_threshold_eur) == (D("0.50"), None)
    assert new.minimal_supply_restore_rule == "debt_below_threshold"
    assert (new.minimal_supply_restore_threshold_eur, new.minimal_supply_restore_repaid_share) == (D("150.00"), None)
    for rule_set in book.rule_sets:
        assert rule_set.source and rule_set.assumptions
    assert [(i.year, i.factor) for i in book.credit_index] == [(y, None) for y in (2023, 2024, 2025, 2026)]
    assert all("not set" in i.source for i in book.credit_index)
    support = book.winter_support
    assert support.topup_share == D("0.60")
    assert support.topup_days_of_month == (1, 16)
    assert support.eligible_heating == ("gas", "electric_night_tariff")
    assert support.electric_night_tariff_eligible_from == date(2022, 10, 19)


@pytest.mark.parametrize(
    ("on", "rule_set_id", "notice_days", "gas_days", "at_takeover", "registered"),
    [
        (date(2022, 6, 30), "energy-pre-2022-07", 60, 60, False, True),
        (date(2022, 7, 1), "energy-2022-07", 45, 20, True, False),
        (date(2010, 11, 19), "energy-pre-2022-07", 60, 60, False, True),
        (date(2030, 1, 1), "energy-2022-07", 45, 20, True, False),
    ],
)
def test_rule_set_switches_on_2022_07_01(
    book: EnergyRuleBook,
    on: date,
    rule_set_id: str,
    notice_days: int,
    gas_days: int,
    at_takeover: bool,
    registered: bool,
) -> None:
    rule_set = select_energy_rule_set(book, on)
    assert rule_set.id == rule_set_id
    assert rule_set.notice_period_days == notice_days
    assert rule_set.gas_prepayment_after_unpaid_days == gas_days
    assert rule_set.electricity_prepayment_at_takeover is at_takeover
    assert rule_set.registered_letter_required is registered


def test_no_rule_set_before_the_first(book: EnergyRuleBook) -> None:
    with pytest.raises(NoEnergyRuleSetError, match="first rule set"):
        select_energy_rule_set(book, date(2010, 11, 18))
    # callers that handle "no rules for that date" in general catch it too
    assert issubclass(NoEnergyRuleSetError, NoRuleSetError)
    assert issubclass(NoEnergyRuleSetError, ValueError)


def test_no_rule_set_after_a_closed_last_set(tmp_path: Path) -> None:
    data = raw_book()
    data["rule_sets"][-1]["valid_until"] = "2030-12-31"
    book = load_energy_rule_book(write(tmp_path, data))
    assert select_energy_rule_set(book, date(2030, 12, 31)).id == "energy-2022-07"
    with pytest.raises(NoEnergyRuleSetError, match="must add a rule set"):
        select_energy_rule_set(book, date(2031, 1, 1))


# ---- emergency credit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "electricity", "gas"),
    [
        (date(2022, 7, 1), "75.00", "75.00"),
        (date(2022, 10, 31), "75.00", "75.00"),
        (date(2022, 11, 1), "115.00", "155.00"),
        (date(2023, 6, 30), "115.00", "155.00"),
        (date(2023, 7, 1), "75.00", "75.00"),
        (date(2027, 5, 5), "75.00", "75.00"),
    ],
)
def test_emergency_credit_boundaries(book: EnergyRuleBook, on: date, electricity: str, gas: str) -> None:
    assert emergency_credit(book, "electricity", on).amount == D(electricity)
    assert emergency_credit(book, "gas", on).amount == D(gas)
    assert str(emergency_credit(book, "gas", on).amount) == gas


def test_emergency_credit_before_euro_is_refused(book: EnergyRuleBook) -> None:
    with pytest.raises(NoEuroCreditError, match=r"kWh.*from 2022-07-01"):
        emergency_credit(book, "electricity", date(2022, 6, 30))
    assert issubclass(NoEuroCreditError, ValueError)


def test_emergency_credit_is_indexed_from_the_book(tmp_path: Path) -> None:
    data = raw_book()
    data["credit_index"] = [
        {"year": 2023, "factor": "1.0432", "source": "test"},
        {"year": 2025, "factor": "1.1000", "source": "test"},
    ]
    book = load_energy_rule_book(write(tmp_path, data))
    # the temporary increase is not indexed
    assert emergency_credit(book, "gas", date(2023, 6, 30)).amount == D("155.00")
    assert emergency_credit(book, "electricity", date(2023, 7, 1)).amount == D("78.24")  # 75 × 1.0432 = 78.24
    assert emergency_credit(book, "gas", date(2023, 12, 31)).amount == D("78.24")
    # 2024 is missing: not set, so the unindexed base, flagged (2023's factor is not reused)
    assert credit_index_factor(book, 2024) is None
    not_set = emergency_credit(book, "gas", date(2024, 1, 1))
    assert (not_set.amount, not_set.index_set, not_set.index_year) == (D("75.00"), False, 2024)
    assert emergency_credit(book, "gas", date(2025, 1, 1)).amount == D("82.50")
    assert emergency_credit(book, "gas", date(2040, 1, 1)).amount == D("75.00")
    assert credit_index_factor(book, 2022) is None


def test_emergency_credit_rounds_half_up(tmp_path: Path) -> None:
    data = raw_book()
    data["credit_index"] = [{"year": 2023, "factor": "1.0006", "source": "test"}]  # 75 × 1.0006 = 75.045
    book = load_energy_rule_book(write(tmp_path, data))
    assert emergency_credit(book, "electricity", date(2023, 7, 1)).amount == D("75.05")  # half-up, not half-even
    data["credit_index"] = [{"year": 2023, "factor": "1.000066", "source": "test"}]  # 75.00495
    book = load_energy_rule_book(write(tmp_path, data, "b.json"))
    assert emergency_credit(book, "electricity", date(2023, 7, 1)).amount == D("75.00")


def test_emergency_credit_after_a_closed_last_period(tmp_path: Path) -> None:
    data = raw_book()
    data["emergency_credit_periods"][-1]["valid_until"] = "2030-12-31"
    book = load_energy_rule_book(write(tmp_path, data))
    with pytest.raises(NoEnergyRuleSetError, match="add a period"):
        emergency_credit(book, "gas", date(2031, 1, 1))


# ---- minimal supply -----------------------------------------------------------------------------------------


def test_minimal_supply_threshold_is_strict(book: EnergyRuleBook) -> None:
    rules = select_energy_rule_set(book, date(2022, 7, 1))
    assert minimal_supply_may_be_restored(rules, D("150.00")) is False
    assert minimal_supply_may_be_restored(rules, D("150.01")) is False
    assert minimal_supply_may_be_restored(rules, D("149.99")) is True
    assert minimal_supply_may_be_restored(rules, D("0")) is True
    # the repaid share plays no role under the new rule
    assert minimal_supply_may_be_restored(rules, D("150.00"), repaid_share=D("0.90")) is False


def test_minimal_supply_before_2022_needs_half_repaid_on_request(book: EnergyRuleBook) -> None:
    rules = select_energy_rule_set(book, date(2022, 6, 30))
    # an automatic check (no request, no share) never restores under the old rule, however small the debt
    assert minimal_supply_may_be_restored(rules, D("10.00")) is False
    assert minimal_supply_may_be_restored(rules, D("10.00"), repaid_share=D("0.49")) is False
    assert minimal_supply_may_be_restored(rules, D("1000.00"), repaid_share=D("0.50")) is True
    assert minimal_supply_may_be_restored(rules, D("1000.00"), repaid_share=D("0.75")) is True
    assert minimal_supply_may_be_restored(rules, D("0.00")) is True  # all paid
    with pytest.raises(ValueError, match="repaid_share"):
        minimal_supply_may_be_restored(rules, D("10.00"), repaid_share=D("1.5"))
    with pytest.raises(ValueError, match="total_debt"):
        minimal_supply_may_be_restored(rules, D("-0.01"))


# ---- seasonal windows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 11, 30), False),
        (date(2026, 12, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), True),
        (date(2027, 2, 28), True),
        (date(2027, 3, 1), False),
        (date(2028, 2, 28), True),
        (date(2028, 2, 29), True),  # leap year: end of February is the 29th
        (date(2028, 3, 1), False),
        (date(2027, 7, 1), False),
    ],
)
def test_winter_ban(book: EnergyRuleBook, on: date, expected: bool) -> None:
    assert in_winter_ban(book, on) is expected
    assert in_window(window(book, "winter_ban"), on) is expected


def test_winter_ban_ends(book: EnergyRuleBook) -> None:
    assert winter_ban_ends(book, date(2026, 12, 15)) == date(2027, 3, 1)
    assert winter_ban_ends(book, date(2026, 12, 1)) == date(2027, 3, 1)
    assert winter_ban_ends(book, date(2027, 2, 28)) == date(2027, 3, 1)
    assert winter_ban_ends(book, date(2027, 12, 1)) == date(2028, 3, 1)  # through 2028-02-29
    assert window_end(window(book, "winter_ban"), date(2028, 1, 10)) == date(2028, 2, 29)
    assert window_end(window(book, "winter_ban"), date(2027, 1, 10)) == date(2027, 2, 28)
    with pytest.raises(ValueError, match="not inside"):
        winter_ban_ends(book, date(2027, 3, 1))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 10, 31), False),
        (date(2026, 11, 1), True),
        (date(2027, 2, 28), True),
        (date(2027, 3, 31), True),
        (date(2027, 4, 1), False),
        (date(2022, 10, 31), False),
        (date(2022, 11, 1), True),  # the first winter under the 2022-10-19 decision
        (date(2022, 3, 1), False),  # the winter 2021-2022 is before the window's valid_from
    ],
)
def test_heating_support_window(book: EnergyRuleBook, on: date, expected: bool) -> None:
    assert heating_support_open(book, on) is expected
    assert in_seasonal_window(book, "heating_support_application", on) is expected


def test_heating_support_ends_and_next_start(book: EnergyRuleBook) -> None:
    assert heating_support_ends(book, date(2026, 11, 1)) == date(2027, 3, 31)
    assert heating_support_ends(book, date(2027, 3, 31)) == date(2027, 3, 31)
    with pytest.raises(ValueError, match="not inside"):
        heating_support_ends(book, date(2027, 4, 1))
    assert next_heating_support_start(book, date(2027, 4, 1)) == date(2027, 11, 1)
    assert next_heating_support_start(book, date(2027, 11, 1)) == date(2027, 11, 1)
    assert next_heating_support_start(book, date(2026, 12, 1)) == date(2027, 11, 1)
    # before the decision, the first window is the winter 2022-2023
    assert next_heating_support_start(book, date(2021, 1, 1)) == date(2022, 11, 1)
    assert next_window_start(window(book, "heating_support_application"), date(2021, 1, 1)) == date(2022, 11, 1)


def test_window_within_one_year_and_end_of_february_in_common_years() -> None:
    summer = SeasonalWindow(
        id="summer", start_month=6, start_day=1, end_month=8, end_day=31, valid_from=date(2020, 1, 1), source="t"
    )
    assert not summer.wraps_year
    assert in_window(summer, date(2024, 6, 1)) and in_window(summer, date(2024, 8, 31))
    assert not in_window(summer, date(2024, 9, 1)) and not in_window(summer, date(2024, 5, 31))
    assert window_end(summer, date(2024, 7, 1)) == date(2024, 8, 31)
    assert next_window_start(summer, date(2024, 7, 1)) == date(2025, 6, 1)
    assert not in_window(summer, date(2019, 7, 1))  # before valid_from
    february = SeasonalWindow(
        id="feb", start_month=2, start_day=1, end_month=2, end_day=29, valid_from=date(2020, 1, 1), source="t"
    )
    assert window_end(february, date(2023, 2, 10)) == date(2023, 2, 28)
    assert window_end(february, date(2024, 2, 10)) == date(2024, 2, 29)


def test_window_versions_take_over_by_winter(tmp_path: Path) -> None:
    data = raw_book()
    data["seasonal_windows"].append(
        {
            "id": "winter_ban",
            "start_month": 11,
            "start_day": 15,
            "end_month": 3,
            "end_day": 15,
            "valid_from": "2030-07-01",
            "source": "test: a widened ban",
        }
    )
    book = load_energy_rule_book(write(tmp_path, data))
    assert not in_winter_ban(book, date(2029, 11, 20))
    assert winter_ban_ends(book, date(2029, 12, 20)) == date(2030, 3, 1)
    assert in_winter_ban(book, date(2030, 11, 15))
    assert winter_ban_ends(book, date(2030, 11, 15)) == date(2031, 3, 16)
    assert next_seasonal_window_start(book, "winter_ban", date(2030, 3, 1)) == date(2030, 11, 15)
    # a version whose first start would fall before its valid_from leaves that winter to the older version
    data["seasonal_windows"][-1]["valid_from"] = "2030-11-20"
    book = load_energy_rule_book(write(tmp_path, data, "later.json"))
    assert not in_winter_ban(book, date(2030, 11, 20))
    assert in_winter_ban(book, date(2030, 12, 1))
    assert winter_ban_ends(book, date(2030, 12, 1)) == date(2031, 3, 1)
    assert winter_ban_ends(book, date(2031, 11, 15)) == date(2032, 3, 16)


def test_every_day_of_a_year_has_a_consistent_ban_answer(book: EnergyRuleBook) -> None:
    day = date(2027, 7, 1)
    while day < date(2029, 7, 1):
        if in_winter_ban(book, day):
            ends = winter_ban_ends(book, day)
            assert ends.month == 3 and ends.day == 1 and not in_winter_ban(book, ends)
            assert in_winter_ban(book, ends - timedelta(days=1))
        day += timedelta(days=1)


# ---- winter heating support ---------------------------------------------------------------------------------


def test_half_monthly_topup(book: EnergyRuleBook) -> None:
    assert half_monthly_topup(book, D("200.00")) == D("60.00")
    assert half_monthly_topup(book, D("123.45")) == D("37.04")  # 37.035 rounds half up
    assert half_monthly_topup(book, D("0")) == D("0.00")
    with pytest.raises(ValueError, match="must not be negative"):
        half_monthly_topup(book, D("-1"))


def test_reimbursement_rate(book: EnergyRuleBook) -> None:
    assert reimbursement_rate(book, 2022) == D("0.90")
    assert reimbursement_rate(book, 2023) == D("0.70")
    assert reimbursement_rate(book, 2021) == D("0.70")


def test_heating_eligibility(book: EnergyRuleBook) -> None:
    assert heating_eligible(book, "gas", date(2022, 10, 18))
    assert not heating_eligible(book, "electric_night_tariff", date(2022, 10, 18))
    assert heating_eligible(book, "electric_night_tariff", date(2022, 10, 19))


# ---- validation of the operator's file ------------------------------------------------------------------------


def _invalid(tmp_path: Path, data: dict[str, Any], match: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(RuleBookError, match=match) as info:
        load_energy_rule_book(path)
    assert str(path) in str(info.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(RuleBookError, match="cannot be read"):
        load_energy_rule_book(tmp_path / "absent.json")
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuleBookError, match="not valid JSON"):
        load_energy_rule_book(path)


def test_validation_of_rule_sets(tmp_path: Path) -> None:
    data = raw_book()
    gap = copy.deepcopy(data)
    gap["rule_sets"][1]["valid_from"] = "2022-07-02"
    _invalid(tmp_path, gap, "gap between rule set energy-pre-2022-07 and rule set energy-2022-07")
    overlap = copy.deepcopy(data)
    overlap["rule_sets"][1]["valid_from"] = "2022-06-30"
    _invalid(tmp_path, overlap, "overlap")
    unsorted = copy.deepcopy(data)
    unsorted["rule_sets"].reverse()
    _invalid(tmp_path, unsorted, "sorted by valid_from")
    open_middle = copy.deepcopy(data)
    open_middle["rule_sets"][0]["valid_until"] = None
    _invalid(tmp_path, open_middle, "only the last one may be open-ended")
    duplicate = copy.deepcopy(data)
    duplicate["rule_sets"][1]["id"] = "energy-pre-2022-07"
    _invalid(tmp_path, duplicate, "unique")
    typo = copy.deepcopy(data)
    typo["rule_sets"][1]["notice_period_dayz"] = 45
    _invalid(tmp_path, typo, "notice_period_dayz")
    zero = copy.deepcopy(data)
    zero["rule_sets"][1]["notice_period_days"] = 0
    _invalid(tmp_path, zero, "notice_period_days")
    no_threshold = copy.deepcopy(data)
    no_threshold["rule_sets"][1]["minimal_supply_restore_threshold_eur"] = None
    _invalid(tmp_path, no_threshold, "needs minimal_supply_restore_threshold_eur")
    both = copy.deepcopy(data)
    both["rule_sets"][0]["minimal_supply_restore_threshold_eur"] = "150.00"
    _invalid(tmp_path, both, "must be null")
    share = copy.deepcopy(data)
    share["rule_sets"][0]["minimal_supply_restore_repaid_share"] = "1.5"
    _invalid(tmp_path, share, "minimal_supply_restore_repaid_share")
    backwards = copy.deepcopy(data)
    backwards["rule_sets"][0]["valid_until"] = "2009-01-01"
    _invalid(tmp_path, backwards, "before valid_from")


def test_validation_of_credit(tmp_path: Path) -> None:
    data = raw_book()
    gap = copy.deepcopy(data)
    gap["emergency_credit_periods"][1]["valid_from"] = "2022-11-02"
    _invalid(tmp_path, gap, "gap between emergency credit period from 2022-07-01")
    late = copy.deepcopy(data)
    late["emergency_credit_periods"][0]["valid_from"] = "2022-08-01"
    _invalid(tmp_path, late, "must start together")
    kwh_overlap = copy.deepcopy(data)
    kwh_overlap["emergency_credit_periods"][0]["valid_from"] = "2022-06-01"
    _invalid(tmp_path, kwh_overlap, "counts emergency credit in kWh")
    float_amount = copy.deepcopy(data)
    float_amount["emergency_credit_periods"][0]["gas_eur"] = "75.001"
    _invalid(tmp_path, float_amount, "gas_eur")
    index = copy.deepcopy(data)
    index["credit_index"][1]["year"] = 2023
    _invalid(tmp_path, index, "credit_index must be sorted")
    negative = copy.deepcopy(data)
    negative["credit_index"][0]["factor"] = "0"
    _invalid(tmp_path, negative, "factor")


def test_validation_of_windows_and_support(tmp_path: Path) -> None:
    data = raw_book()
    missing = copy.deepcopy(data)
    missing["seasonal_windows"] = [w for w in missing["seasonal_windows"] if w["id"] != "winter_ban"]
    _invalid(tmp_path, missing, "lacks winter_ban")
    bad_day = copy.deepcopy(data)
    bad_day["seasonal_windows"][1]["end_month"] = 4
    _invalid(tmp_path, bad_day, "does not exist")
    leap_start = copy.deepcopy(data)
    leap_start["seasonal_windows"][0]["start_month"] = 2
    leap_start["seasonal_windows"][0]["start_day"] = 29
    _invalid(tmp_path, leap_start, "does not exist every year")
    versions = copy.deepcopy(data)
    versions["seasonal_windows"].append(copy.deepcopy(versions["seasonal_windows"][0]))
    _invalid(tmp_path, versions, "versions of window winter_ban")
    days = copy.deepcopy(data)
    days["winter_support"]["topup_days_of_month"] = [16, 1]
    _invalid(tmp_path, days, "topup_days_of_month")
    day_31 = copy.deepcopy(data)
    day_31["winter_support"]["topup_days_of_month"] = [1, 31]
    _invalid(tmp_path, day_31, "topup_days_of_month")
    rates = copy.deepcopy(data)
    rates["winter_support"]["reimbursement_rates"].append(copy.deepcopy(rates["winter_support"]["reimbursement_rates"][0]))
    _invalid(tmp_path, rates, "reimbursement_rates")
    heating = copy.deepcopy(data)
    heating["winter_support"]["eligible_heating"] = ["gas", "wood"]
    _invalid(tmp_path, heating, "eligible_heating")


def test_models_are_frozen(book: EnergyRuleBook) -> None:
    rule_set: EnergyRuleSet = book.rule_sets[0]
    with pytest.raises(ValidationError):
        rule_set.notice_period_days = 1  # type: ignore[misc]


# ---- loading and caching ------------------------------------------------------------------------------------


def test_cache_returns_the_same_book_until_the_file_changes(tmp_path: Path) -> None:
    data = raw_book()
    path = write(tmp_path, data)
    first = load_energy_rule_book(path)
    assert load_energy_rule_book(path) is first
    data["rule_sets"][1]["notice_period_days"] = 46
    write(tmp_path, data)
    second = load_energy_rule_book(path)
    assert second is not first
    assert second.rule_sets[1].notice_period_days == 46
    clear_energy_cache()
    assert load_energy_rule_book(path) is not second


def test_default_path_is_the_packaged_book() -> None:
    assert load_energy_rule_book() is load_energy_rule_book(DEFAULT_ENERGY_RULES)


# ---- Temporal payload round trip ----------------------------------------------------------------------------


def test_book_round_trips_through_the_pydantic_data_converter(book: EnergyRuleBook) -> None:
    converter = pydantic_data_converter.payload_converter
    payloads = converter.to_payloads([book])
    (decoded,) = converter.from_payloads(payloads, [EnergyRuleBook])
    assert isinstance(decoded, EnergyRuleBook)
    assert decoded == book
    assert emergency_credit(decoded, "gas", date(2022, 11, 1)).amount == D("155.00")
    assert decoded.rule_sets[1].minimal_supply_restore_threshold_eur == D("150.00")
    assert winter_ban_ends(decoded, date(2026, 12, 15)) == date(2027, 3, 1)
    # amounts travel as strings, never as floats
    text = payloads[0].data.decode()
    assert '"150.00"' in text and '"155.00"' in text
