"""`vangnet simulate` runs the real workflows on its own stack and prints the events with day and date."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from schemas.calendar import brussels_date
from tests.energy_helpers import shifted_energy_book
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES
from vangnet.stack.rehearsal import ScenarioError, load_scenario, resolve_days, run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_happy_path_scenario_from_a_future_start_date() -> None:
    start = brussels_date(datetime.now(UTC)) + timedelta(days=3)
    out = io.StringIO()
    status = await run_scenario(load_scenario(SCENARIOS / "fbu-happy-path.json"), start, out)
    assert status == 0
    events = lines(out)
    assert events[0]["type"] == "CaseOpened" and events[0]["date"] == start.isoformat() and events[0]["day"] == 0
    assert [(e["day"], e["type"]) for e in events if e["type"] in ("AgreementInForce", "PayoutPaid", "CaseClosed")] \
        == [(6, "AgreementInForce"), (10, "PayoutPaid"), (200, "PayoutPaid"), (200, "CaseClosed")]
    for e in events:
        assert date.fromisoformat(e["date"]) == start + timedelta(days=e["day"])
    paid = [e["data"]["amount"] for e in events if e["type"] == "PayoutPaid"]
    assert paid == ["1502.00", "360.00"]
    assert events[-1]["data"]["reason"] == "completed"


async def test_rejection_and_breach_scenario() -> None:
    out = io.StringIO()
    assert await run_scenario(load_scenario(SCENARIOS / "fbu-rejected-then-breach.json"), None, out) == 0
    events = lines(out)
    by_type = {e["type"]: e for e in events}
    assert [e["type"] for e in events].count("ClaimSubmitted") == 2
    assert by_type["PlanBreached"]["day"] == 91  # instalment due on day 60, more than 30 days late
    assert by_type["PayoutPaid"]["data"]["rule_set_id"] == "fbu-2022"
    assert by_type["CaseClosed"]["data"]["reason"] == "plan_breached"


async def test_a_refused_step_fails_the_rehearsal_unless_expected(tmp_path: Path) -> None:
    scenario = json.loads((SCENARIOS / "fbu-happy-path.json").read_text())
    refused_sign = {"day": 1, "do": "sign", "body": {"party": "tenant", "evidence": "too early"}, "expect": 409}
    scenario["steps"] = [*scenario["steps"][:1], refused_sign]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    out = io.StringIO()
    assert await run_scenario(load_scenario(path), None, out) == 0
    refusal = next(e for e in lines(out) if "status" in e)
    assert refusal["status"] == 409 and "no agreement" in refusal["detail"].lower()
    del scenario["steps"][1]["expect"]
    path.write_text(json.dumps(scenario))
    assert await run_scenario(load_scenario(path), None, io.StringIO()) == 1


def test_scenario_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": [{"day": 0, "do": "fly"}]}')
    with pytest.raises(ScenarioError, match=r"steps\.0\.do"):
        load_scenario(bad)
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.json")


def test_day_references_become_dates() -> None:
    body = {"plan": [{"due_on": "{day:30}"}], "note": "{day:x}", "n": 3}
    assert resolve_days(body, date(2026, 1, 31)) == {"plan": [{"due_on": "2026-03-02"}], "note": "{day:x}", "n": 3}


async def test_past_start_is_refused() -> None:
    with pytest.raises(ScenarioError, match="lies in the past"):
        await run_scenario(load_scenario(SCENARIOS / "fbu-happy-path.json"), date(2020, 1, 1), io.StringIO())


async def test_energy_scenario_with_winter_ban_and_heating_support() -> None:
    today = brussels_date(datetime.now(UTC))
    start = date(today.year, 11, 23) if today <= date(today.year, 11, 23) else date(today.year + 1, 11, 23)
    out = io.StringIO()
    assert await run_scenario(load_scenario(SCENARIOS / "energy-gas-winter.json"), start, out) == 0
    events = lines(out)
    days = {e["type"]: e["day"] for e in events if "type" in e}
    assert days["ContractEnded"] == 46  # 45-day notice period, then the next day
    assert days["PrepaymentActivationRequested"] == 85  # invoice due on day 64, 20 days unpaid
    deferred = next(e for e in events if e.get("type") == "DisconnectionDeferred")
    assert deferred["data"]["until"] == str(date(start.year + 1, 3, 1))
    scheduled = next(e for e in events if e.get("type") == "DisconnectionScheduled")
    assert scheduled["date"] == str(date(start.year + 1, 3, 1))
    topups = [e for e in events if e.get("type") == "TopUpLoaded"]
    claim = next(e for e in events if e.get("type") == "ReimbursementClaimed")
    assert claim["data"]["loaded_total"] == f"{54 * len(topups)}.00" and claim["data"]["rate"] == "0.70"


async def test_energy_scenario_with_the_winter_ban_extended_mid_winter() -> None:
    today = brussels_date(datetime.now(UTC))
    start = date(today.year, 11, 23) if today <= date(today.year, 11, 23) else date(today.year + 1, 11, 23)
    out = io.StringIO()
    assert await run_scenario(load_scenario(SCENARIOS / "energy-winter-ban-extended.json"), start, out) == 0
    records = lines(out)
    events = {e["type"]: e for e in records if "type" in e}
    ban_end, new_end = date(start.year + 1, 3, 1), start + timedelta(days=129)  # the book's extension: to day 128
    assert events["DisconnectionDeferred"]["data"]["until"] == str(ban_end)
    assert events["DisconnectionDeferred"]["data"]["window_id"] == "winter_ban@2010-11-19"
    extended = [r for r in records if r.get("do") == "extend_winter_ban"]
    assert extended[0]["rule"] == f"winter_ban/{start.year}-{start.year + 1}" and extended[0]["day"] == 88
    assert extended[1]["status"] == 422 and "must end later" in extended[1]["detail"]  # the refused second step
    moved = events["DisconnectionDeferralMoved"]
    assert moved["date"] == str(ban_end)
    assert moved["data"] == {"kind": "disconnect", "previous_until": str(ban_end), "until": str(new_end),
                             "window_id": extended[0]["rule"], "source": extended[0]["source"]}
    assert events["DisconnectionScheduled"]["date"] == str(new_end)
    assert [r["type"] for r in records if r.get("type", "").startswith("Disconnection")] == [
        "DisconnectionDeferred", "DisconnectionDeferralMoved", "DisconnectionScheduled"]
    # the packaged rule book is untouched: the rehearsal changed its own copy
    assert "winter_ban/" + f"{start.year}-{start.year + 1}" not in DEFAULT_ENERGY_RULES.read_text(encoding="utf-8")


async def test_energy_scenario_pre_2022_notice_restored_below_150_after_the_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock cannot go back to 2022: the rehearsal runs in the future on a copy of the rule book in which
    # energy-2022-07 starts on day 30 (the rule book's path is a setting, here from the environment).
    today = brussels_date(datetime.now(UTC))
    start = date(today.year, 4, 2) if today <= date(today.year, 4, 2) else date(today.year + 1, 4, 2)
    book = tmp_path / "energy.json"
    book.write_text(json.dumps(shifted_energy_book(start + timedelta(days=30))))
    monkeypatch.setenv("VANGNET_ENERGY_RULES_FILE", str(book))
    out = io.StringIO()
    assert await run_scenario(load_scenario(SCENARIOS / "energy-pre-2022-restore.json"), start, out) == 0
    events = lines(out)
    typed = [e for e in events if "type" in e]
    first = {e["type"]: e for e in reversed(typed)}
    assert first["DefaultNoticeSent"]["data"]["registered_letter_required"] is True
    assert first["NoticePeriodStarted"]["data"] == {
        "days": 60, "ends_on": str(start + timedelta(days=60)), "rule_set_id": "energy-pre-2022-07"}
    assert first["SocialSupplierTookOver"]["data"]["rule_set_id"] == "energy-pre-2022-07"
    assert "PrepaymentActivationRequested" not in first  # no prepayment at a takeover before the change
    debts = [(e["day"], e["data"]["rule_set_id"]) for e in typed if e["type"] == "DebtUpdated"]
    assert debts == [(15, "energy-pre-2022-07"), (20, "energy-pre-2022-07"), (31, "energy-2022-07"),
                     (35, "energy-2022-07")]
    refusals = [e for e in events if "status" in e]
    assert [(r["day"], r["status"]) for r in refusals] == [(20, 409), (31, 409)]
    assert "35.00%" in refusals[0]["detail"] and "50%" in refusals[0]["detail"]
    assert "automatisch" in refusals[1]["detail"] and "150.00" in refusals[1]["detail"]
    restored = [e for e in typed if e["type"] == "MinimalSupplyRestored"]
    assert len(restored) == 1 and restored[0]["day"] == 35
    assert restored[0]["data"] == {"total_debt": "149.50", "on": str(start + timedelta(days=35)),
                                   "threshold": "150.00", "rule_set_id": "energy-2022-07", "on_request": False}
