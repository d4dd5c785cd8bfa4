-- Workflow task failures seen by each worker process (a workflow that cannot run its code: a bug or poison
-- input), so the API's /healthz can say so. One row per worker, replaced as its counts change.
CREATE TABLE workflow_task_failures (
    worker_id          TEXT        PRIMARY KEY,
    failures           BIGINT      NOT NULL,
    last_failure_at    TIMESTAMPTZ NOT NULL,
    last_workflow_type TEXT        NOT NULL
);
