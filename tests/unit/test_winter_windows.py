"""Winters as dated data: one winter-ban window per winter with its source, validated with the book, and the
operator's ``vangnet rules winter-ban`` commands that show and extend them (the file written atomically)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from schemas.energy_rules import (
    EnergyRuleBook,
    in_winter_ban,
    next_seasonal_window_start,
    window_of_winter,
    winter_ban_ends,
    winter_ban_in_force,
)
from vangnet.cli import app
from vangnet.platform.settings import get_settings
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, RuleBookError, load_energy_rule_book
from vangnet.rulebooks.winter_windows import extend_winter_window, windows_per_winter

BASE = "winter_ban@2010-11-19"


@pytest.fixture(scope="module")
def book() -> EnergyRuleBook:
    return load_energy_rule_book()


def raw_book() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"))
    return data


def entry(winter: str, start: str, end: str, source: str = "test decision") -> dict[str, str]:
    return {"window": "winter_ban", "winter": winter, "start": start, "end": end, "source": source}


def with_entries(*entries: dict[str, str]) -> dict[str, Any]:
    data = raw_book()
    data["winter_windows"] = sorted([*data["winter_windows"], *entries], key=lambda e: e["winter"])
    return data


def invalid(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EnergyRuleBook.model_validate(data)


# ---- the packaged winters ---------------------------------------------------------------------------------------


def test_the_extended_winters_run_until_31_march_with_their_source(book: EnergyRuleBook) -> None:
    for winter in (2016, 2019):
        ban = winter_ban_in_force(book, date(winter + 1, 3, 31))
        assert ban is not None and ban.id == f"winter_ban/{winter}-{winter + 1}"
        assert (ban.start, ban.end) == (date(winter, 12, 1), date(winter + 1, 3, 31))
        assert "public news report" in ban.source and str(winter + 1) in ban.source
        assert winter_ban_ends(book, date(winter + 1, 1, 10)) == date(winter + 1, 4, 1)
        assert not in_winter_ban(book, date(winter + 1, 4, 1))
    assert "February 2017" in window_of_winter(book, "winter_ban", 2016).source  # type: ignore[union-attr]
    assert "28 February 2020" in window_of_winter(book, "winter_ban", 2019).source  # type: ignore[union-attr]


def test_a_winter_without_an_entry_has_the_recurring_window(book: EnergyRuleBook) -> None:
    for winter in (2017, 2018, 2020, 2022, 2026):
        ban = window_of_winter(book, "winter_ban", winter)
        assert ban is not None and ban.id == BASE and ban.winter == f"{winter}-{winter + 1}"
        assert ban.start == date(winter, 12, 1) and ban.end.month == 2
        assert not in_winter_ban(book, date(winter + 1, 3, 15))
    assert winter_ban_ends(book, date(2028, 1, 5)) == date(2028, 3, 1)  # 29 February 2028 is the last day
    # the 2022-2023 widening has no period in the seeds: still the recurring window, with the assumption noted
    assert any("2022-2023" in note for note in book.window_versions("winter_ban")[0].assumptions)


def test_windows_per_winter_lists_each_winter_with_its_rule(book: EnergyRuleBook) -> None:
    listed = windows_per_winter(book, 2015, 2020)
    assert [w.winter for w in listed] == [f"{y}-{y + 1}" for y in range(2015, 2021)]
    assert [w.id for w in listed] == [BASE, "winter_ban/2016-2017", BASE, BASE, "winter_ban/2019-2020", BASE]


def test_an_entry_may_start_earlier_and_then_opens_the_ban_earlier() -> None:
    book = EnergyRuleBook.model_validate(with_entries(entry("2030-2031", "2030-11-15", "2031-03-15")))
    assert in_winter_ban(book, date(2030, 11, 15)) and not in_winter_ban(book, date(2030, 11, 14))
    assert next_seasonal_window_start(book, "winter_ban", date(2030, 6, 1)) == date(2030, 11, 15)
    assert winter_ban_ends(book, date(2030, 11, 20)) == date(2031, 3, 16)
    assert winter_ban_ends(book, date(2031, 12, 20)) == date(2032, 3, 1)  # the next winter: recurring again


# ---- validation: errors name the entry ----------------------------------------------------------------------------


def test_entries_are_validated_and_errors_name_the_entry() -> None:
    invalid(with_entries(entry("2030-2031", "2030-12-05", "2031-03-31")),
            r"winter window winter_ban/2030-2031: .* must contain the winter's base start 2030-12-01")
    invalid(with_entries(entry("2030-2031", "2030-12-01", "2031-12-02")),
            r"winter_ban/2030-2031: .*overlaps the window of winter 2031-2032 \(2031-12-01..2032-02-29")
    invalid(with_entries(entry("2030-2031", "2030-02-20", "2031-03-01")),
            r"winter_ban/2030-2031: .*overlaps the window of winter 2029-2030")
    invalid(with_entries(entry("2030-2031", "2030-11-01", "2031-02-28"), entry("2031-2032", "2031-02-27",
                                                                               "2032-02-28")),
            r"winter_ban/2030-2031: .*overlaps the window of winter 2031-2032 \(2031-02-27..2032-02-28, "
            r"winter_ban/2031-2032\)")
    invalid(with_entries(entry("2030-2032", "2030-12-01", "2031-03-31")), "winter_ban/2030-2032: a winter is two")
    invalid(with_entries(entry("2030-2031", "2030-12-01", "2030-11-30")), "winter_ban/2030-2031: end 2030-11-30")
    invalid(with_entries(entry("2030-2031", "2030-12-01", "2032-01-31")), "winter_ban/2030-2031: .*outside the winter")
    invalid(with_entries(entry("2005-2006", "2005-12-01", "2006-03-31")),
            "winter_ban/2005-2006: no recurring winter_ban window applies")
    invalid(with_entries(entry("2030-2031", "2030-12-01", "2031-03-31"), entry("2030-2031", "2030-12-01",
                                                                               "2031-03-20")),
            "must be sorted by winter without repeats: 2030-2031 comes after 2030-2031")
    unsorted = raw_book()
    unsorted["winter_windows"].reverse()
    invalid(unsorted, "winter windows of winter_ban must be sorted by winter without repeats: 2016-2017 comes after "
                      "2019-2020")
    unknown = entry("2030-2031", "2030-12-01", "2031-03-31")
    unknown["window"] = "summer_ban"
    invalid(with_entries(unknown), "winter window summer_ban/2030-2031: the book has no seasonal window 'summer_ban'")
    no_source = with_entries(entry("2030-2031", "2030-12-01", "2031-03-31", source=""))
    invalid(no_source, "source")


# ---- the operator extends a winter ---------------------------------------------------------------------------------


@pytest.fixture
def book_file(tmp_path: Path) -> Path:
    path = tmp_path / "energy.json"
    path.write_text(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_extend_writes_a_valid_book_that_the_loader_reads_again(book_file: Path) -> None:
    before = load_energy_rule_book(book_file)
    written = extend_winter_window(book_file, winter="2026-2027", until=date(2027, 3, 31), source="MB 2027-02-20")
    assert written.id == "winter_ban/2026-2027" and written.start == date(2026, 12, 1)
    after = load_energy_rule_book(book_file)
    assert after is not before and winter_ban_ends(after, date(2027, 2, 1)) == date(2027, 4, 1)
    assert [e.winter for e in after.winter_windows] == ["2016-2017", "2019-2020", "2026-2027"]
    assert after.rule_sets == before.rule_sets and after.winter_support == before.winter_support
    assert [p.name for p in book_file.parent.iterdir()] == ["energy.json"]  # no temporary file left behind
    # a later, longer extension of the same winter replaces its entry
    extend_winter_window(book_file, winter="2026-2027", until=date(2027, 4, 15), source="MB 2027-03-25")
    again = load_energy_rule_book(book_file)
    assert [(e.winter, e.end, e.source) for e in again.winter_windows_of("winter_ban")][-1] == (
        "2026-2027", date(2027, 4, 15), "MB 2027-03-25")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"winter": "2026-27"}, "like 2026-2027, not '2026-27'"),
    ({"winter": "2026-2028"}, "like 2026-2027"),
    ({"until": date(2027, 2, 20)}, r"already runs until 2027-02-28 \(winter_ban@2010-11-19\); an extension must end"),
    ({"until": date(2027, 12, 15)}, "nothing was written: winter window winter_ban/2026-2027: .*overlaps"),
    ({"start": date(2026, 12, 10)}, "nothing was written: .*must contain the winter's base start 2026-12-01"),
    ({"source": " "}, "--source must say where"),
    ({"winter": "2001-2002"}, "no winter_ban window applies to winter 2001-2002"),
])
def test_extend_refuses_bad_input_and_leaves_the_file_alone(book_file: Path, kwargs: dict[str, Any],
                                                            match: str) -> None:
    original = book_file.read_bytes()
    args: dict[str, Any] = {"winter": "2026-2027", "until": date(2027, 3, 31), "source": "MB 2027-02-20", **kwargs}
    with pytest.raises(RuleBookError, match=match):
        extend_winter_window(book_file, **args)
    assert book_file.read_bytes() == original


def test_replace_corrects_an_entry_to_an_earlier_end(book_file: Path) -> None:
    extend_winter_window(book_file, winter="2026-2027", until=date(2027, 3, 31), source="MB 2027-02-20")
    extend_winter_window(book_file, winter="2026-2027", until=date(2027, 3, 15), source="MB corrected",
                         replace=True)
    assert winter_ban_ends(load_energy_rule_book(book_file), date(2027, 1, 1)) == date(2027, 3, 16)


def test_extend_refuses_a_broken_book(book_file: Path) -> None:
    data = copy.deepcopy(raw_book())
    data["seasonal_windows"] = []
    book_file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RuleBookError, match="is not a valid rule book"):
        extend_winter_window(book_file, winter="2026-2027", until=date(2027, 3, 31), source="MB 2027-02-20")


# ---- the command line ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli(book_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("VANGNET_ENERGY_RULES_FILE", str(book_file))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_cli_extends_a_winter_and_lists_the_windows_with_their_sources(cli: CliRunner, book_file: Path) -> None:
    result = cli.invoke(app, ["rules", "winter-ban", "extend", "--winter", "2026-2027", "--until", "2027-03-31",
                              "--source", "Ministerieel besluit van 20 februari 2027"])
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [{"written": str(book_file), "rule": "winter_ban/2026-2027",
                                     "start": "2026-12-01", "end": "2027-03-31",
                                     "source": "Ministerieel besluit van 20 februari 2027"}]
    listed = cli.invoke(app, ["rules", "winter-ban", "list", "--from", "2016-2017", "--to", "2027-2028"])
    assert listed.exit_code == 0, listed.output
    winters = {w["winter"]: w for w in lines(listed.output)}
    assert list(winters) == [f"{y}-{y + 1}" for y in range(2016, 2028)]
    assert winters["2026-2027"] == {"winter": "2026-2027", "start": "2026-12-01", "end": "2027-03-31",
                                    "disconnections_from": "2027-04-01", "rule": "winter_ban/2026-2027",
                                    "source": "Ministerieel besluit van 20 februari 2027"}
    assert winters["2019-2020"]["end"] == "2020-03-31" and "28 February 2020" in winters["2019-2020"]["source"]
    assert winters["2027-2028"]["rule"] == BASE and winters["2027-2028"]["disconnections_from"] == "2028-03-01"
    energy = cli.invoke(app, ["rules", "energy", "--on", "2027-03-20"])
    assert energy.exit_code == 0, energy.output
    shown = json.loads(energy.output)
    assert shown["in_winter_ban"] is True and shown["winter_ban"]["rule"] == "winter_ban/2026-2027"


def test_cli_bad_input_is_one_clear_line(cli: CliRunner, book_file: Path) -> None:
    original = book_file.read_bytes()
    for args, message in [
        (["--winter", "2026", "--until", "2027-03-31", "--source", "MB"], "like 2026-2027, not '2026'"),
        (["--winter", "2026-2027", "--until", "31/03/2027", "--source", "MB x"], "--until must be a date"),
        (["--winter", "2026-2027", "--until", "2027-02-01", "--source", "MB x"], "an extension must end later"),
    ]:
        result = cli.invoke(app, ["rules", "winter-ban", "extend", *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and "Traceback" not in result.output
    assert book_file.read_bytes() == original
    assert not any(p.name.endswith(".tmp") for p in os.scandir(book_file.parent))


def test_cli_warns_when_it_writes_the_packaged_book(book_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VANGNET_ENERGY_RULES_FILE", raising=False)
    monkeypatch.setattr("vangnet.cli.winter_ban.DEFAULT_ENERGY_RULES", book_file)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["rules", "winter-ban", "extend", "--winter", "2026-2027", "--until",
                                          "2027-03-31", "--source", "MB 2027-02-20"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "wrote the packaged rule book" in result.output and "VANGNET_ENERGY_RULES_FILE" in result.output
    assert winter_ban_ends(load_energy_rule_book(book_file), date(2027, 1, 1)) == date(2027, 4, 1)
