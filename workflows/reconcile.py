"""The reconcilers' runs, each started by a Temporal Schedule: one activity that ends orphan case workflows
(``vangnet.services.reconciler`` says what an orphan is and how it is ended), and one that recovers the callbacks a
netbeheerder never delivered (``vangnet.services.callback_recovery``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.activities import (
        ReconcileReport,
        ReconcileRequest,
        RecoverCallbacksReport,
        RecoverCallbacksRequest,
    )

from workflows.common import DB_RETRY
from workflows.contracts import reconcile_orphans, recover_overdue_callbacks


@workflow.defn(name="ReconcileOrphans")
class ReconcileOrphansWorkflow:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        return await workflow.execute_activity(
            reconcile_orphans, request, start_to_close_timeout=timedelta(minutes=10), retry_policy=DB_RETRY)


@workflow.defn(name="RecoverCallbacks")
class RecoverCallbacksWorkflow:
    @workflow.run
    async def run(self, request: RecoverCallbacksRequest) -> RecoverCallbacksReport:
        return await workflow.execute_activity(
            recover_overdue_callbacks, request, start_to_close_timeout=timedelta(minutes=10), retry_policy=DB_RETRY)
