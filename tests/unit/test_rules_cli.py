"""`vangnet rules fbu`: without --monthly-rent every rule that needs no rent still applies, and the rent checks
are named as skipped (the command runs in-process on the packaged rule book)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from vangnet.cli import app


def rules_fbu(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["rules", "fbu", *args])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_social_housing_is_refused_without_the_rent() -> None:
    el = rules_fbu("--submitted-on", "2023-03-01", "--arrears", "1500.00", "--market", "social")["eligibility"]
    assert el["eligible"] is False
    assert el["reasons"] == ["Social housing (SHM) tenants are not covered by the fund."]
    assert el["skipped"] == []  # fbu-2022 bounds no arrears months: nothing needs the rent


def test_svk_before_2022_is_refused_and_the_months_check_is_skipped() -> None:
    el = rules_fbu("--submitted-on", "2021-05-03", "--arrears", "1500.00", "--market", "svk",
                   "--arrears-since", "2021-01-01")["eligibility"]
    assert el["eligible"] is False
    assert el["rule_set_id"] == "fbu-2020"
    assert len(el["reasons"]) == 1 and "covered only from rule set fbu-2022" in el["reasons"][0]
    assert len(el["skipped"]) == 1
    assert "between 2 and 6 months of rent" in el["skipped"][0] and "--monthly-rent" in el["skipped"][0]


def test_arrears_before_april_2020_are_refused_without_the_rent() -> None:
    el = rules_fbu("--submitted-on", "2020-11-02", "--arrears", "1500.00",
                   "--arrears-since", "2020-03-31")["eligibility"]
    assert el["eligible"] is False
    assert el["reasons"] == ["The arrears must have arisen on or after 2020-04-01."]


def test_eligible_so_far_is_undecided_while_a_rent_check_is_skipped() -> None:
    el = rules_fbu("--submitted-on", "2021-05-03", "--arrears", "1500.00",
                   "--arrears-since", "2021-01-01")["eligibility"]
    assert el["eligible"] is None and el["reasons"] == []
    assert el["skipped"] and "fbu-2020" in el["skipped"][0]


def test_under_fbu_2022_nothing_needs_the_rent() -> None:
    el = rules_fbu("--submitted-on", "2023-03-01", "--arrears", "1500.00", "--market", "svk",
                   "--arrears-since", "2023-01-01")["eligibility"]
    assert el == {"rule_set_id": "fbu-2022", "eligible": True, "reasons": [], "skipped": [],
                  "arrears_months": None}


def test_with_the_rent_the_months_are_checked() -> None:
    el = rules_fbu("--submitted-on", "2021-05-03", "--arrears", "800.00", "--monthly-rent", "800.00",
                   "--arrears-since", "2021-01-01")["eligibility"]
    assert el["eligible"] is False and el["skipped"] == []
    assert "between 2 and 6 months of rent" in el["reasons"][0]
