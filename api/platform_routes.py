"""Health, metrics and the embedded identity provider's public keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.context import ApiContext, get_context
from api.problems import MEDIA_TYPE
from vangnet.platform import component_status

router = APIRouter(tags=["Platform"])
Ctx = Annotated[ApiContext, Depends(get_context)]


async def _temporal(ctx: ApiContext) -> bool:
    return await ctx.client.service_client.check_health(timeout=timedelta(seconds=2))


async def _postgres(ctx: ApiContext) -> bool:
    return await ctx.pool.fetchval("SELECT 1", timeout=2) == 1


async def _worker(ctx: ApiContext) -> bool:
    response = await ctx.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=ctx.client.namespace,
        task_queue=TaskQueue(name=ctx.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    ))
    return len(response.pollers) > 0


async def _task_failures(ctx: ApiContext) -> dict[str, Any] | None:
    """Workflow task failures the workers reported within the last 15 minutes (``worker.task_failures``)."""
    row = await ctx.pool.fetchrow(
        """SELECT sum(failures) AS failures, max(last_failure_at) AS last_at,
                  (array_agg(last_workflow_type ORDER BY last_failure_at DESC))[1] AS last_type
           FROM workflow_task_failures WHERE last_failure_at > now() - interval '15 minutes'""")
    if row is None or row["failures"] is None:
        return None
    return {"failures_since_worker_start": int(row["failures"]), "last_at": row["last_at"].isoformat(),
            "last_workflow_type": row["last_type"]}


async def _check(probe: Any, ctx: ApiContext) -> str:
    try:
        return "ok" if await asyncio.wait_for(probe(ctx), timeout=3) else "down"
    except Exception:
        return "down"


@router.get("/healthz", summary="Status of Temporal, PostgreSQL and the worker; 503 when one is down",
            responses={503: {"description": "Degraded: the same status document, naming what is down (or a problem "
                                            "while the API is starting)",
                             "content": {"application/json": {}, MEDIA_TYPE: {
                                 "schema": {"$ref": "#/components/schemas/Problem"}}}}})
async def healthz(ctx: Ctx) -> JSONResponse:
    temporal, postgres, worker = await asyncio.gather(
        _check(_temporal, ctx), _check(_postgres, ctx), _check(_worker, ctx))
    status_file = ctx.settings.supervisor_status_file
    restarting = component_status.not_running(status_file) if status_file is not None else {}
    healthy = temporal == postgres == worker == "ok" and not restarting
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded",
                            "temporal": temporal, "postgres": postgres, "worker": worker}
    if restarting:  # under `vangnet dev`: the components its supervisor is bringing back
        body["components"] = restarting
    failing = await _task_failures(ctx) if postgres == "ok" else None
    if failing:  # some case cannot run its code: it stands still until someone looks
        body["status"] = "degraded"
        body["workflow_task_failures"] = failing
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", summary="Prometheus metrics of the API", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/idp/.well-known/jwks.json", summary="Public keys of the embedded identity provider")
async def jwks(request: Request) -> dict[str, Any]:
    keys: dict[str, Any] = request.app.state.jwks
    return keys
