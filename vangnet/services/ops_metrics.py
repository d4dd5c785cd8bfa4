"""Domain gauges for operations, read from PostgreSQL and exported on the API's ``/metrics``.

The HTTP and SDK metrics say whether the machinery runs; these say whether the cases move: open cases per phase,
payouts booked, whether the read models keep up with the event log and whether a legal deadline went by without the
workflow acting on it (a stuck timer or a worker fleet that is down). A background task refreshes one snapshot every
``REFRESH_SECONDS``; a scrape only reads that snapshot, so Prometheus never waits on the database. Every API replica
exports the same figures: dashboards and alerts take ``max`` over replicas. Labels are kinds and phases, never a case,
a person or an organisation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, get_args

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.energy import Phase
from schemas.fbu import CaseStatus
from vangnet.storage.projections import PROJECTOR

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 30.0

# A deadline counts as missed one full day after the day the workflow's timer acts on (00:00 Brussels), so a
# timer that fires a few minutes late is not an alert. FBU: the signature deadline closes a case still awaiting
# signatures; energy: the day after the notice period ends, the contract ends.
MISSED_DEADLINES_SQL = """
WITH today AS (SELECT (now() AT TIME ZONE 'Europe/Brussels')::date AS d)
SELECT 'signature_deadline' AS kind, count(*) AS n
  FROM proj_fbu_cases c JOIN proj_case_documents d USING (case_id), today
 WHERE c.status = 'awaiting_signatures'
   AND (d.document -> 'agreement' ->> 'signature_deadline')::date + 1 < today.d
UNION ALL
SELECT 'contract_ends', count(*)
  FROM proj_energy_cases c JOIN proj_case_documents d USING (case_id), today
 WHERE c.phase = 'notice_period'
   AND (d.document ->> 'notice_period_ends_on')::date + 2 < today.d
"""


@dataclass
class Snapshot:
    open_cases: dict[tuple[str, str], int] = field(default_factory=dict)
    payouts: dict[str, tuple[int, float]] = field(default_factory=dict)
    projection_lag_events: int = 0
    projection_lag_seconds: float = 0.0
    missed_deadlines: dict[str, int] = field(default_factory=dict)
    callbacks_recovered: int = 0
    callbacks_still_missing: int = 0
    refreshed_at: float = 0.0
    ok: bool = False


def _zero_open_cases() -> dict[tuple[str, str], int]:
    """Every known phase starts at 0, so a phase that empties reads 0 instead of vanishing."""
    counts = {("fbu", s): 0 for s in get_args(CaseStatus) if s != "closed"}
    counts.update({("energy", p): 0 for p in get_args(Phase) if p != "closed"})
    return counts


async def read_snapshot(pool: Any) -> Snapshot:
    """One consistent-enough read of the figures (each query on its own; they are counts, not a ledger)."""
    snap = Snapshot(open_cases=_zero_open_cases(),
                    missed_deadlines={"signature_deadline": 0, "contract_ends": 0})
    async with pool.acquire() as conn:
        for row in await conn.fetch(
                "SELECT 'fbu' AS kind, status AS phase, count(*) AS n FROM proj_fbu_cases WHERE status <> 'closed' "
                "GROUP BY status UNION ALL SELECT 'energy', phase, count(*) FROM proj_energy_cases "
                "WHERE phase <> 'closed' GROUP BY phase"):
            snap.open_cases[(row["kind"], row["phase"])] = row["n"]
        for kind in ("forfait", "tranche_1", "tranche_2"):
            snap.payouts[kind] = (0, 0.0)
        for row in await conn.fetch(
                "SELECT kind, sum(count)::bigint AS n, sum(amount)::float8 AS euros FROM proj_payout_totals "
                "GROUP BY kind"):
            snap.payouts[row["kind"]] = (row["n"], row["euros"])
        lag = await conn.fetchrow(
            """SELECT coalesce((SELECT max(position) FROM domain_events), 0)
                      - coalesce((SELECT position FROM projection_checkpoints WHERE projector = $1), 0) AS events,
                      coalesce(extract(epoch FROM now() - (
                          SELECT min(recorded_at) FROM domain_events WHERE position > coalesce(
                              (SELECT position FROM projection_checkpoints WHERE projector = $1), 0))), 0)::float8
                          AS seconds""", PROJECTOR)
        snap.projection_lag_events, snap.projection_lag_seconds = max(lag["events"], 0), lag["seconds"]
        for row in await conn.fetch(MISSED_DEADLINES_SQL):
            snap.missed_deadlines[row["kind"]] = row["n"]
        recovery = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM netbeheerder_callbacks WHERE source = 'recovered') AS recovered, "
            "(SELECT count(*) FROM netbeheerder_requests WHERE answered_at IS NULL AND checks > 0) AS missing")
        snap.callbacks_recovered, snap.callbacks_still_missing = recovery["recovered"], recovery["missing"]
    snap.ok = True
    snap.refreshed_at = asyncio.get_running_loop().time()
    return snap


class DomainCollector(Collector):
    """Turns the latest snapshot into metric families at scrape time (no database access here)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Any]:
        s = self.snapshot
        up = GaugeMetricFamily("vangnet_domain_metrics_up",
                               "1 when the last refresh of the domain figures from PostgreSQL succeeded")
        up.add_metric([], 1.0 if s.ok else 0.0)
        yield up
        open_cases = GaugeMetricFamily("vangnet_open_cases", "Open cases per kind and phase (read models)",
                                       labels=["kind", "phase"])
        for (kind, phase), n in sorted(s.open_cases.items()):
            open_cases.add_metric([kind, phase], n)
        yield open_cases
        paid = CounterMetricFamily("vangnet_payouts_paid", "FBU payouts paid, per payout kind", labels=["kind"])
        euros = CounterMetricFamily("vangnet_payouts_paid_euros", "FBU payouts paid in euro, per payout kind",
                                    labels=["kind"])
        for kind, (n, amount) in sorted(s.payouts.items()):
            paid.add_metric([kind], n)
            euros.add_metric([kind], amount)
        yield paid
        yield euros
        yield GaugeMetricFamily("vangnet_projection_lag_events",
                                "Events in the log not yet applied to the read models", value=s.projection_lag_events)
        yield GaugeMetricFamily("vangnet_projection_lag_seconds",
                                "Age of the oldest event not yet applied to the read models",
                                value=s.projection_lag_seconds)
        missed = GaugeMetricFamily("vangnet_missed_deadlines",
                                   "Open cases whose legal deadline passed more than a day ago without the workflow "
                                   "acting on it", labels=["deadline"])
        for kind, n in sorted(s.missed_deadlines.items()):
            missed.add_metric([kind], n)
        yield missed
        yield CounterMetricFamily("vangnet_callbacks_recovered", "Netbeheerder callbacks never delivered, fetched "
                                  "from the netbeheerder by the callback recovery", value=s.callbacks_recovered)
        yield GaugeMetricFamily("vangnet_callbacks_still_missing", "Requests whose callback is overdue and that the "
                                "netbeheerder could not answer yet (looked up at least once)",
                                value=s.callbacks_still_missing)


async def _refresh_forever(pool: Any, collector: DomainCollector, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            collector.snapshot = await read_snapshot(pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not kill the API; the up gauge says it
            collector.snapshot.ok = False
            log.warning("domain metrics refresh failed", error=f"{type(exc).__name__}: {exc}")


async def attach(pool: Any, registry: CollectorRegistry, close: Callable[[], Awaitable[None]] | None,
                 every: float = REFRESH_SECONDS) -> Callable[[], Awaitable[None]]:
    """Register the collector and start refreshing; returns a closer that stops the refresh, then runs ``close``."""
    collector = DomainCollector()
    with contextlib.suppress(Exception):
        collector.snapshot = await read_snapshot(pool)  # figures on the first scrape already
    registry.register(collector)
    task = asyncio.create_task(_refresh_forever(pool, collector, every))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        registry.unregister(collector)
        if close is not None:
            await close()

    return stop
