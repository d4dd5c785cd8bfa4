"""The yearly emergency credit index: "not set" is data, every output says so, and the operator sets it as data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from typer.testing import CliRunner

from schemas.energy import EnergyCaseInput, EnergyCaseState
from schemas.energy_events import EmergencyCreditGranted, PrepaymentActivated
from schemas.energy_rules import EnergyRuleBook, credit_index_years_not_set, emergency_credit
from schemas.event_catalog import decode
from schemas.events import DomainEvent, EventData, StoredEvent
from vangnet.cli import app
from vangnet.platform.settings import Settings, get_settings
from vangnet.rulebooks.credit_index import set_credit_index
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, RuleBookError, clear_cache, load_energy_rule_book
from vangnet.storage.energy_document import EnergyCaseDocument, fold
from worker.main import warn_credit_index_not_set
from workflows import energy_procedure
from workflows.energy_procedure import EnergyCase

D = Decimal


@pytest.fixture
def rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped energy book, used by the settings (and so by the CLI)."""
    path = tmp_path / "energy.json"
    path.write_text(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("VANGNET_ENERGY_RULES_FILE", str(path))
    get_settings.cache_clear()
    clear_cache()
    yield path
    get_settings.cache_clear()
    clear_cache()


def test_the_shipped_book_sets_no_factor_and_grants_the_flagged_base() -> None:
    book = load_energy_rule_book()
    assert credit_index_years_not_set(book, 2026) == [2023, 2024, 2025, 2026]
    assert credit_index_years_not_set(book, 2024) == [2023, 2024]
    credit = emergency_credit(book, "gas", date(2026, 5, 5))
    assert (credit.amount, credit.indexed, credit.index_set, credit.index_factor) == (D("75.00"), True, False, None)
    assert credit.note() is not None and credit.note().startswith("index not set for 2026")  # type: ignore[union-attr]
    fixed = emergency_credit(book, "gas", date(2022, 12, 1))  # the temporary increase is not indexed
    assert (fixed.amount, fixed.index_set, fixed.note()) == (D("155.00"), None, None)
    period = book.emergency_credit_periods[-1]
    assert period.indexed and any("'index not set'" in a and "no earlier year's factor is reused" in a
                                  for a in period.assumptions)


def test_a_set_year_does_not_stand_in_for_the_next() -> None:
    data = json.loads(DEFAULT_ENERGY_RULES.read_text(encoding="utf-8"))
    data["credit_index"][0]["factor"] = "1.0432"  # 2023 set; 2024-2026 still null
    data["credit_index"] = data["credit_index"][:2]  # and 2025, 2026 not even listed
    book = EnergyRuleBook.model_validate(data)
    assert emergency_credit(book, "electricity", date(2023, 8, 1)).amount == D("78.24")
    later = emergency_credit(book, "electricity", date(2025, 8, 1))
    assert (later.amount, later.index_set, later.index_year) == (D("75.00"), False, 2025)
    assert credit_index_years_not_set(book, 2026) == [2024, 2025, 2026]


def test_the_event_records_the_index_and_v1_events_say_they_did_not() -> None:
    v1 = DomainEvent(event_id="c:5", stream="c", stream_version=5, case_id="c", case_kind="energy", ocmw_id="o",
                     type="EmergencyCreditGranted", schema_version=1,
                     data={"amount": "75.00", "unit": "eur", "on": "2024-03-01"},
                     occurred_at=datetime(2024, 3, 1, 9, tzinfo=UTC))
    lifted = decode(v1)
    assert isinstance(lifted, EmergencyCreditGranted) and EmergencyCreditGranted.VERSION == 2
    assert (lifted.amount, lifted.indexed, lifted.index_set, lifted.index_factor) == (D("75.00"), None, None, None)
    with pytest.raises(ValidationError):  # version 2 requires the three fields
        EmergencyCreditGranted.model_validate(v1.data)


def _stored(body: EventData, version: int) -> StoredEvent:
    return StoredEvent(event_id=f"c:{version}", stream="c", stream_version=version, case_id="c", case_kind="energy",
                       ocmw_id="o", type=body.TYPE, schema_version=body.VERSION, data=body.to_data(),
                       occurred_at=datetime(2026, 3, 1, 9, tzinfo=UTC), position=version,
                       recorded_at=datetime(2026, 3, 1, 9, tzinfo=UTC))


def test_the_case_document_says_index_not_set() -> None:
    doc = EnergyCaseDocument(case_id="c", ocmw_id="o", energy="gas", supplier="s", netbeheerder="n",
                             municipality_nis="11002", phase="prepayment", rule_set_id="energy-2022-07",
                             notice_of_default_on=date(2026, 1, 2), notice_period_ends_on=date(2026, 2, 16))
    granted = EmergencyCreditGranted(amount=D("75.00"), unit="eur", on=date(2026, 3, 1), indexed=True,
                                     index_set=False, index_factor=None)
    after = fold(doc, _stored(granted, 6), granted)
    assert after is not None and after.emergency_credit == D("75.00") and after.emergency_credit_index_set is False
    assert after.emergency_credit_note is not None and after.emergency_credit_note.startswith("index not set for 2026")
    indexed = granted.model_copy(update={"amount": D("78.24"), "index_set": True, "index_factor": D("1.0432")})
    after = fold(doc, _stored(indexed, 6), indexed)
    assert after is not None and after.emergency_credit_index_set is True and after.emergency_credit_note is None


def test_the_workflow_grants_the_flagged_base_while_the_index_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(energy_procedure, "per_effect", lambda: True)  # a run on today's code, outside a worker
    book = load_energy_rule_book()
    state = EnergyCaseState(
        case_id="c-1", ocmw_id="o", ean="541448800000000001", energy="gas", supplier="s", netbeheerder="n",
        municipality_nis="11002", phase="social_supplier", rule_set_id="energy-2022-07",
        notice_of_default_on=date(2026, 1, 2), notice_period_ends_on=date(2026, 2, 16),
        took_over_on=date(2026, 2, 17), prepayment_requested_on=date(2026, 2, 20))
    inp = EnergyCaseInput(case_id="c-1", ocmw_id="o", ean=state.ean, energy="gas", supplier="s", netbeheerder="n",
                          municipality_nis="11002", notice_of_default_on=date(2026, 1, 2),
                          callback_url="http://localhost/cb", state=state, book=book)
    case = EnergyCase(inp, on_change=lambda: None)
    emitted: list[EventData] = []
    requested: list[tuple[str, dict[str, Any]]] = []

    async def record(*bodies: EventData) -> None:
        emitted.extend(bodies)

    async def ask(kind: str, purpose: str, params: dict[str, Any]) -> None:
        requested.append((kind, params))

    case.emit = record  # type: ignore[method-assign]
    case.request = ask  # type: ignore[method-assign]
    asyncio.run(case.prepayment_activated(date(2026, 3, 1)))
    assert emitted == [PrepaymentActivated(on=date(2026, 3, 1)),
                       EmergencyCreditGranted(amount=D("75.00"), unit="eur", on=date(2026, 3, 1), indexed=True,
                                              index_set=False, index_factor=None, rule_set_id="energy-2022-07")]
    assert requested == [("grant_emergency_credit", {"amount": "75.00"})]  # the command is unchanged
    assert case.s.emergency_credit_index_set is False and "index not set" in (case.s.emergency_credit_note or "")


def test_the_worker_warns_once_at_start_naming_the_years(rules_file: Path) -> None:
    with capture_logs() as logs:
        years = warn_credit_index_not_set(Settings(), date(2026, 11, 30))
    assert years == [2023, 2024, 2025, 2026]
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["event"] == "emergency credit index not set"
    assert warnings[0]["years"] == [2023, 2024, 2025, 2026] and warnings[0]["this_year_not_set"] is True
    for year in (2023, 2024, 2025, 2026):
        set_credit_index(rules_file, year, D("1.01"), "test")
    with capture_logs() as logs:
        assert warn_credit_index_not_set(Settings(), date(2026, 11, 30)) == []
    assert [entry for entry in logs if entry["log_level"] == "warning"] == []


def test_the_cli_prints_index_not_set_and_the_operator_sets_a_factor(rules_file: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["rules", "energy", "--on", "2026-05-05"])
    assert shown.exit_code == 0, shown.output
    out = json.loads(shown.stdout)
    assert out["emergency_credit_eur"] == {"electricity": "75.00", "gas": "75.00"}
    assert out["emergency_credit_index"]["index_set"] is False and out["emergency_credit_index"]["factor"] is None
    assert out["emergency_credit_index"]["note"].startswith("index not set for 2026")

    listed = runner.invoke(app, ["rules", "credit-index", "--through", "2026"])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["year"], r["set"]) for r in rows] == [(y, False) for y in (2023, 2024, 2025, 2026)]

    set_ = runner.invoke(app, ["rules", "set-credit-index", "--year", "2026", "--factor", "1.0432",
                               "--source", "published index, January 2026"])
    assert set_.exit_code == 0, set_.output
    stored = json.loads(rules_file.read_text(encoding="utf-8"))
    assert {"year": 2026, "factor": "1.0432", "source": "published index, January 2026"} in stored["credit_index"]
    out = json.loads(runner.invoke(app, ["rules", "energy", "--on", "2026-05-05"]).stdout)
    assert out["emergency_credit_eur"] == {"electricity": "78.24", "gas": "78.24"}
    assert out["emergency_credit_index"]["index_set"] is True and out["emergency_credit_index"]["note"] is None

    before = rules_file.read_bytes()
    again = runner.invoke(app, ["rules", "set-credit-index", "--year", "2026", "--factor", "1.05", "--source", "x"])
    assert again.exit_code == 1 and "already set" in again.output
    invalid = runner.invoke(app, ["rules", "set-credit-index", "--year", "2026", "--factor", "0", "--source", "x",
                                  "--replace"])
    assert invalid.exit_code == 1 and "nothing was written" in invalid.output
    assert rules_file.read_bytes() == before
    assert list(rules_file.parent.iterdir()) == [rules_file]  # no temporary file left behind


def test_setting_a_factor_keeps_the_years_sorted(rules_file: Path) -> None:
    data = json.loads(rules_file.read_text(encoding="utf-8"))
    data["credit_index"] = [entry for entry in data["credit_index"] if entry["year"] != 2024]
    rules_file.write_text(json.dumps(data), encoding="utf-8")
    book = set_credit_index(rules_file, 2024, D("1.02"), "test")
    assert [i.year for i in book.credit_index] == [2023, 2024, 2025, 2026]
    assert load_energy_rule_book(rules_file).credit_index[1].factor == D("1.02")
    with pytest.raises(RuleBookError, match="already set"):
        set_credit_index(rules_file, 2024, D("1.03"), "test")
    assert set_credit_index(rules_file, 2024, D("1.03"), "corrected", replace=True).credit_index[1].factor == D("1.03")
