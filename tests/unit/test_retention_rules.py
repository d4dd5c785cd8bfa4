"""Retention periods as dated data: due dates on the Brussels calendar, the rule set by closing day, and a book
that refuses to load when an operator's edit would leave a kind of case without a period."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.retention_rules import NoRetentionRuleSetError, RetentionBook, RetentionPeriod
from vangnet.rulebooks.rulebook import RuleBookError, load_retention_book


def book(*rule_sets: dict[str, object]) -> RetentionBook:
    return RetentionBook.model_validate({"rule_sets": list(rule_sets)})


def rule_set(id_: str, valid_from: str, valid_until: str | None, fbu: dict[str, int], energy: dict[str, int]
             ) -> dict[str, object]:
    return {"id": id_, "valid_from": valid_from, "valid_until": valid_until, "source": "test",
            "periods": {"fbu": fbu, "energy": energy}}


@pytest.mark.parametrize(("closed_on", "period", "due"), [
    (date(2024, 2, 29), {"years": 10}, date(2034, 2, 28)),  # a leap day clamps to the end of February
    (date(2026, 1, 31), {"months": 1}, date(2026, 2, 28)),
    (date(2026, 11, 23), {"days": 0}, date(2026, 11, 23)),
    (date(2026, 12, 31), {"years": 1, "months": 2, "days": 1}, date(2028, 3, 1)),
])
def test_due_dates(closed_on: date, period: dict[str, int], due: date) -> None:
    assert RetentionPeriod(**period).due(closed_on) == due


def test_the_rule_set_is_the_one_in_force_on_the_closing_day() -> None:
    b = book(rule_set("old", "2018-05-25", "2025-12-31", {"years": 10}, {"years": 5}),
             rule_set("new", "2026-01-01", None, {"years": 7}, {"years": 3}))
    assert b.select(date(2025, 12, 31)).id == "old"
    assert b.select(date(2026, 1, 1)).id == "new"
    assert b.shortest("energy") == RetentionPeriod(years=3)
    with pytest.raises(NoRetentionRuleSetError, match="first one \\(old\\) starts 2018-05-25"):
        b.select(date(2018, 5, 24))


def test_a_book_without_a_period_for_a_kind_or_with_a_gap_is_refused() -> None:
    with pytest.raises(ValidationError, match="no retention period for energy"):
        RetentionBook.model_validate({"rule_sets": [
            {"id": "x", "valid_from": "2018-05-25", "source": "t", "periods": {"fbu": {"years": 1}}}]})
    with pytest.raises(ValidationError, match="gap"):
        book(rule_set("a", "2018-05-25", "2020-01-01", {"years": 1}, {"years": 1}),
             rule_set("b", "2021-01-01", None, {"years": 1}, {"years": 1}))
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        RetentionPeriod(years=-1)


def test_the_packaged_book_marks_its_periods_as_assumptions(tmp_path: Path) -> None:
    packaged = load_retention_book()
    current = packaged.select(date(2026, 11, 23))
    assert current.periods["fbu"] == RetentionPeriod(years=10)
    assert current.periods["energy"] == RetentionPeriod(years=5)
    assert any("assumption" in a for a in current.assumptions)
    broken = tmp_path / "retention.json"
    broken.write_text(json.dumps({"rule_sets": [{"id": "x"}]}))
    with pytest.raises(RuleBookError, match=r"Retention rule file .*retention.json is not a valid rule book"):
        load_retention_book(broken)
