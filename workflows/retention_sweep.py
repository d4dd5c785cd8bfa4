"""The retention job: erase the personal data whose retention period is over (domain.md §3).

Started every night by a Temporal Schedule (``vangnet.services.retention_schedule``) or by ``vangnet retention run``.
It pages through the expired subjects in batches; every erasure is checked again and recorded in the event log
by the activity, so a retried or overlapping run erases nothing twice. Progress is a query.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.retention import EraseExpired, FindExpired, RetentionProgress, RetentionSweepInput

from workflows.common import DB_RETRY, invalid, today
from workflows.contracts import erase_expired_personal_data, find_expired_personal_data

ACTIVITY_TIMEOUT = timedelta(minutes=5)


@workflow.defn(name="RetentionSweep")
class RetentionSweepWorkflow:
    def __init__(self) -> None:
        self._progress = RetentionProgress()

    @workflow.query
    def progress(self) -> RetentionProgress:
        return self._progress

    @workflow.run
    async def run(self, inp: RetentionSweepInput) -> RetentionProgress:
        as_of = inp.as_of or today()
        if as_of > today():
            raise invalid(f"as_of {as_of} is in the future: personal data is never erased before its period ends")
        if inp.carried is not None:
            self._progress = inp.carried.model_copy()
        p = self._progress
        p.as_of, p.started_at = as_of, p.started_at or workflow.now()
        while True:
            batch = await workflow.execute_activity(
                find_expired_personal_data, FindExpired(as_of=as_of, limit=inp.batch_size),
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY)
            p.found += len(batch)
            p.rule_sets = sorted(set(p.rule_sets) | {s.rule_set_id for s in batch})
            if inp.dry_run:
                p.would_erase = batch
                break
            if not batch:
                break
            erased = await workflow.execute_activity(
                erase_expired_personal_data,
                EraseExpired(as_of=as_of, at=workflow.now(), subject_ids=[s.subject_id for s in batch]),
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY)
            p.erased += erased
            p.batches += 1
            if len(batch) < inp.batch_size or erased == 0:
                # a short page is the last; a page of which nothing could be erased will not change by asking again
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(RetentionSweepInput(as_of=as_of, batch_size=inp.batch_size, carried=p))
        p.done = True
        workflow.logger.info("retention sweep for %s: %d found, %d erased", as_of, p.found, p.erased)
        return p
