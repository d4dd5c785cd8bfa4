"""The reconciler as an activity: it needs the Temporal client (to list and end workflows) and the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.client import Client

from activities import implements
from schemas.activities import ReconcileReport, ReconcileRequest
from vangnet.services import reconciler
from workflows import contracts


class ReconcileActivities:
    def __init__(self, client: Client | None, pool: asyncpg.Pool) -> None:
        self._client = client
        self._pool = pool

    @implements(contracts.reconcile_orphans)
    async def reconcile_orphans(self, request: ReconcileRequest) -> ReconcileReport:
        assert self._client is not None, "the worker passes its client"
        ended = await reconciler.reconcile(self._client, self._pool, now=datetime.now(UTC),
                                           grace=timedelta(seconds=request.grace_seconds),
                                           lookback=timedelta(hours=request.lookback_hours))
        return ReconcileReport(ended=[e.case_id for e in ended])
