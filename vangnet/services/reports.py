"""Aggregates per organisation for the OCMW's coordinator and the auditor, built from data already entered.

No new source of truth and no extra work for the case worker: every figure is a count or a euro sum over the read
models the cases fill anyway (``proj_fbu_cases``, ``proj_claims``, ``proj_payout_totals``, ``proj_energy_cases``,
``ocmw_signals``). Payouts in a period are summed from the ``PayoutPaid`` events of the log, which carry the day
they were paid (``proj_payout_totals`` has no dates); without a period both give the same figures (that read scans
the log's ``PayoutPaid`` events: milliseconds for the benchmark's 10,000 cases; a dated payout projection is the
remedy if it ever is not). No query here selects a case id, a name, a national number, an IBAN, an address or a
connection point.

What each period filters on (inclusive): FBU cases by the day they were opened, claims by the day they were last
submitted, payouts by the day they were paid, energy cases by the notice of default, signals by the day (Brussels)
Vangnet received them.

Small-cell protection (``protect``) is applied to the auditor's cross-organisation view with the operator's
threshold ``VANGNET_REPORT_MIN_CELL``; a coordinator sees its own organisation's figures unprotected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar, get_args

import asyncpg

from schemas.energy import Energy, Phase
from schemas.fbu import CaseStatus, PayoutStatus
from schemas.reports import (
    EnergyOrganisation,
    EnergyReport,
    FbuOrganisation,
    FbuReport,
    MonthCount,
    PayoutLine,
    Period,
)

#: The widest period one report may cover, and the dates a period may name (a typo such as 2205 is refused).
MAX_PERIOD_DAYS = 3660
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)

K = TypeVar("K", bound=Hashable)
DB: TypeAlias = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class Scope:
    """What one report covers: one organisation or all (None), and a period (None = unbounded on that side)."""

    ocmw_id: str | None = None
    start: date | None = None
    end: date | None = None

    @property
    def args(self) -> tuple[str | None, date | None, date | None]:
        return self.ocmw_id, self.start, self.end

    def period(self) -> Period:
        return Period.model_validate({"from": self.start, "to": self.end})


def date_problem(start: date | None, end: date | None) -> str | None:
    """Why a date of the period cannot be reported on (outside EARLIEST..LATEST, as the schema says); None if none."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            return f"'{name}' ({day}) must lie between {EARLIEST} and {LATEST}."
    return None


def period_problem(start: date | None, end: date | None) -> str | None:
    """Why the two dates together do not make a period one report covers (a rule between the fields, which no
    schema can state), in words for the reader; None when they do."""
    if start is not None and end is not None:
        if start > end:
            return f"The period starts ('from' {start}) after it ends ('to' {end}): 'from' must be on or before 'to'."
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            return (f"The period from {start} to {end} spans {(end - start).days + 1} days; one report covers at most "
                    f"{MAX_PERIOD_DAYS} days (about ten years).")
    return None


def century_pattern(earliest: date, latest: date) -> str:
    """The pattern of an ISO date between ``earliest`` and ``latest``, for the JSON schema; the bounds must be one
    or more whole centuries (a regular expression of arbitrary date bounds would be unreadable)."""
    first, last = earliest.year // 100, latest.year // 100
    if (earliest.month, earliest.day, earliest.year % 100) != (1, 1, 0) or (latest.month, latest.day,
                                                                          latest.year % 100) != (12, 31, 99):
        raise ValueError(f"report date bounds {earliest}..{latest} are not whole centuries")
    centuries = "|".join(str(c) for c in range(first, last + 1))
    return f"^({centuries})[0-9]{{2}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


# ---- small-cell protection --------------------------------------------------------------------------------


def protect(cells: Mapping[K, int], min_cell: int | None) -> tuple[dict[K, int | None], int | None]:
    """One table (the cells of one dimension that add up to one total) as it may be published.

    Without ``min_cell`` nothing is hidden. With it: a table whose total is below ``min_cell`` (but not zero) is
    hidden whole, zeros included (otherwise the zeros would say in which category those few people are); in any
    other table each non-zero cell below ``min_cell`` is hidden (primary suppression) and, when that hides exactly
    one cell, the smallest other non-zero cell is hidden too (complementary suppression), so no hidden cell is the
    published total minus the shown ones. Zeros are shown.
    """
    total = sum(cells.values())
    shown: dict[K, int | None] = dict(cells)
    if min_cell is None or min_cell <= 1 or total == 0:
        return shown, total
    if total < min_cell:
        return dict.fromkeys(cells), None
    hidden = [k for k, n in cells.items() if 0 < n < min_cell]
    if len(hidden) == 1:
        others = [(n, i, k) for i, (k, n) in enumerate(cells.items()) if n > 0 and k not in hidden]
        hidden.append(min(others, key=lambda t: (t[0], t[1]))[2])  # exists: one hidden cell alone is < total
    for k in hidden:
        shown[k] = None
    return shown, total


# ---- queries ----------------------------------------------------------------------------------------------

_ORG = "($1::text IS NULL OR ocmw_id = $1)"


def _between(column: str) -> str:
    return f"($2::date IS NULL OR {column} >= $2) AND ($3::date IS NULL OR {column} <= $3)"


async def _counts(db: DB, table: str, key: str, date_column: str, scope: Scope) -> dict[str, dict[str, int]]:
    """ocmw_id -> key value -> count, over rows of ``table`` whose ``date_column`` falls in the period."""
    rows = await db.fetch(
        f"SELECT ocmw_id, {key} AS k, count(*)::int AS n FROM {table} "  # noqa: S608 - fixed identifiers only
        f"WHERE {_ORG} AND {_between(date_column)} GROUP BY 1, 2", *scope.args)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        out[r["ocmw_id"]][str(r["k"])] = r["n"]
    return out


async def _payouts(db: DB, scope: Scope) -> dict[str, dict[tuple[str, str], tuple[int, Decimal]]]:
    """ocmw_id -> (rule set id, payout kind) -> (payouts, euro)."""
    if scope.start is None and scope.end is None:
        rows = await db.fetch(
            "SELECT ocmw_id, rule_set_id, kind, count AS n, amount FROM proj_payout_totals "
            "WHERE ($1::text IS NULL OR ocmw_id = $1)", scope.ocmw_id)
    else:
        paid_on = "COALESCE((data->>'paid_on')::date, (occurred_at AT TIME ZONE 'Europe/Brussels')::date)"
        rows = await db.fetch(
            f"""SELECT ocmw_id, data->>'rule_set_id' AS rule_set_id, p->>'kind' AS kind, count(*)::int AS n,
                       sum((p->>'amount')::numeric) AS amount
                FROM domain_events, jsonb_array_elements(data->'payouts') AS p
                WHERE type = 'PayoutPaid' AND {_ORG} AND {_between(paid_on)}
                GROUP BY 1, 2, 3""",  # noqa: S608 - fixed identifiers only
            *scope.args)
    out: dict[str, dict[tuple[str, str], tuple[int, Decimal]]] = defaultdict(dict)
    for r in rows:
        out[r["ocmw_id"]][(r["rule_set_id"], r["kind"])] = (r["n"], Decimal(r["amount"]))
    return out


def _organisations(scope: Scope, *found: Mapping[str, Any]) -> list[str]:
    """One organisation when the scope names it (listed even without figures), else every one with figures."""
    if scope.ocmw_id is not None:
        return [scope.ocmw_id]
    return sorted(set().union(*(f.keys() for f in found)))


def _all(keys: Sequence[str], counts: Mapping[str, int]) -> dict[str, int]:
    """Every category of a closed list, zero where nothing was counted, in the list's order."""
    unknown = set(counts) - set(keys)
    if unknown:
        raise ValueError(f"unexpected categories in the read model: {sorted(unknown)}")
    return {k: counts.get(k, 0) for k in keys}


STATUSES: tuple[str, ...] = get_args(CaseStatus)
CLAIM_STATUSES: tuple[str, ...] = get_args(PayoutStatus)
PHASES: tuple[str, ...] = get_args(Phase)
ENERGIES: tuple[str, ...] = get_args(Energy)


async def fbu_report(db: DB, scope: Scope, min_cell: int | None) -> FbuReport:
    statuses = await _counts(db, "proj_fbu_cases", "status", "opened_on", scope)
    months = await _counts(db, "proj_fbu_cases", "to_char(opened_on, 'YYYY-MM')", "opened_on", scope)
    claims = await _counts(db, "proj_claims", "status", "submitted_on", scope)
    payouts = await _payouts(db, scope)
    organisations = []
    for org in _organisations(scope, statuses, claims, payouts):
        by_status, cases_total = protect(_all(STATUSES, statuses.get(org, {})), min_cell)
        by_month, _ = protect(dict(sorted(months.get(org, {}).items())), min_cell)
        by_claim, claims_total = protect(_all(CLAIM_STATUSES, claims.get(org, {})), min_cell)
        lines = dict(sorted(payouts.get(org, {}).items()))
        shown, payouts_total = protect({k: n for k, (n, _) in lines.items()}, min_cell)
        organisations.append(FbuOrganisation.model_validate({
            "ocmw_id": org,
            "cases_total": cases_total,
            "cases_by_status": by_status,
            "cases_opened_by_month": [MonthCount(month=m, cases=n) for m, n in by_month.items()],
            "claims_total": claims_total,
            "claims_by_status": by_claim,
            "payouts_total": payouts_total,
            "paid_total": (sum((a for _, a in lines.values()), Decimal("0.00"))
                           if payouts_total is not None else None),
            "payouts": [PayoutLine.model_validate({
                "rule_set_id": rule_set, "kind": kind, "payouts": shown[(rule_set, kind)],
                "amount": amount if shown[(rule_set, kind)] is not None else None,
            }) for (rule_set, kind), (_, amount) in lines.items()],
        }))
    return FbuReport(period=scope.period(), min_cell=min_cell, organisations=organisations)


async def energy_report(db: DB, scope: Scope, min_cell: int | None) -> EnergyReport:
    phases = await _counts(db, "proj_energy_cases", "phase", "notice_of_default_on", scope)
    energies = await _counts(db, "proj_energy_cases", "energy", "notice_of_default_on", scope)
    received_on = "(received_at AT TIME ZONE 'Europe/Brussels')::date"
    signals = await _counts(db, "ocmw_signals", "energy", received_on, scope)
    organisations = []
    for org in _organisations(scope, phases, signals):
        by_phase, cases_total = protect(_all(PHASES, phases.get(org, {})), min_cell)
        by_energy, _ = protect(_all(ENERGIES, energies.get(org, {})), min_cell)
        by_signal, signals_total = protect(_all(ENERGIES, signals.get(org, {})), min_cell)
        organisations.append(EnergyOrganisation.model_validate({
            "ocmw_id": org, "cases_total": cases_total, "cases_by_phase": by_phase, "cases_by_energy": by_energy,
            "signals_total": signals_total, "signals_by_energy": by_signal,
        }))
    return EnergyReport(period=scope.period(), min_cell=min_cell, organisations=organisations)
