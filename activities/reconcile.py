"""The reconcilers as activities: ending orphan case workflows (the Temporal client and the database), and
recovering callbacks a netbeheerder never delivered (also its HTTP API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from temporalio.client import Client

from activities import implements
from schemas.activities import ReconcileReport, ReconcileRequest, RecoverCallbacksReport, RecoverCallbacksRequest
from vangnet.services import callback_recovery, reconciler
from workflows import contracts


class ReconcileActivities:
    def __init__(self, client: Client | None, pool: asyncpg.Pool, http: httpx.AsyncClient | None = None,
                 netbeheerder_urls: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._pool = pool
        self._http = http
        self._urls = netbeheerder_urls or {}

    @implements(contracts.reconcile_orphans)
    async def reconcile_orphans(self, request: ReconcileRequest) -> ReconcileReport:
        assert self._client is not None, "the worker passes its client"
        ended = await reconciler.reconcile(self._client, self._pool, now=datetime.now(UTC),
                                           grace=timedelta(seconds=request.grace_seconds),
                                           lookback=timedelta(hours=request.lookback_hours))
        return ReconcileReport(ended=[e.case_id for e in ended])

    @implements(contracts.recover_overdue_callbacks)
    async def recover_overdue_callbacks(self, request: RecoverCallbacksRequest) -> RecoverCallbacksReport:
        assert self._client is not None and self._http is not None, "the worker passes its client and HTTP client"
        recovered, missing = await callback_recovery.recover(
            self._client, self._pool, self._http, self._urls, now=datetime.now(UTC),
            after=timedelta(seconds=request.overdue_seconds), lookback=timedelta(hours=request.lookback_hours))
        return RecoverCallbacksReport(recovered=[r.event_id for r in recovered], still_missing=missing)
