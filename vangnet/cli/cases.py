"""``vangnet cases versions``: open cases by the workflow code they run on, the gate of a code roll-out.

A case workflow lives for months, so new workflow code meets histories written by old code. Two things in a
history tell which code a run is on: the patches it recorded (``workflow.patched``, e.g. ``EVENTS_V2`` in
``workflows/common.py``; a run without the marker is on the code from before that patch), and the build id of the
worker that completed its last workflow task (the SDK's default build id is a checksum of the worker's code).
The Python SDK records patches only as history markers, not as a search attribute, so this reads each open run's
history (``--concurrency`` at a time); ``--type`` and ``--limit`` keep a look at a large namespace short. A patch
branch can be removed from the code when no open run lacks its marker; a build can be retired when no open run
last ran on it (see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from vangnet.cli.common import fail, run_client_command, setup
from vangnet.platform.temporal_client import connect

PATCH_MARKER = "core_patch"
NO_PATCH = "-"


@dataclass(frozen=True, order=True)
class CodeVersion:
    """What one open run is on: its workflow type, the patches its history recorded and its last build id."""

    workflow_type: str
    patches: tuple[str, ...]
    build_id: str


def _patch_id(marker: Any) -> str | None:
    payloads = marker.details.get("patch-data") or marker.details.get("patch_data")
    if payloads is None or not payloads.payloads:
        return None
    try:
        return str(json.loads(payloads.payloads[0].data)["id"])
    except (ValueError, KeyError, TypeError):
        return None


def code_version(workflow_type: str, events: Iterable[Any]) -> CodeVersion:
    """The code version of a run from its history events (protos of ``temporal.api.history.v1.HistoryEvent``)."""
    patches: set[str] = set()
    build = ""
    for event in events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == PATCH_MARKER and (patch := _patch_id(marker)):
                patches.add(patch)
        elif event.HasField("workflow_task_completed_event_attributes"):
            done = event.workflow_task_completed_event_attributes
            stamped = (done.deployment_version.build_id if done.HasField("deployment_version") else "") or (
                done.worker_version.build_id if done.HasField("worker_version") else "")
            build = stamped or done.binary_checksum or build
    return CodeVersion(workflow_type, tuple(sorted(patches)), build)


async def open_case_versions(client: Any, workflow_type: str | None = None, limit: int | None = None,
                             concurrency: int = 16) -> Counter[CodeVersion]:
    """Count the open runs (``ExecutionStatus = 'Running'``) per code version."""
    query = "ExecutionStatus = 'Running'" + (f" AND WorkflowType = '{workflow_type}'" if workflow_type else "")
    gate = asyncio.Semaphore(concurrency)
    counts: Counter[CodeVersion] = Counter()

    async def one(wf_id: str, run_id: str | None, wf_type: str) -> None:
        async with gate:
            handle = client.get_workflow_handle(wf_id, run_id=run_id)
            events = [e async for e in handle.fetch_history_events()]
        counts[code_version(wf_type, events)] += 1

    tasks = []
    async for wf in client.list_workflows(query, limit=limit):
        tasks.append(asyncio.create_task(one(wf.id, wf.run_id, wf.workflow_type)))
    await asyncio.gather(*tasks)
    return counts


def render(counts: Counter[CodeVersion]) -> str:
    rows = [(v.workflow_type, ",".join(v.patches) or NO_PATCH, v.build_id or NO_PATCH, str(n))
            for v, n in sorted(counts.items())]
    header = ("workflow type", "patches", "build id (last task)", "open")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [header, *rows]]
    lines.append(f"{sum(counts.values())} open runs in {len(counts)} code versions")
    return "\n".join(lines)


def as_json(counts: Counter[CodeVersion]) -> str:
    return json.dumps([{"workflow_type": v.workflow_type, "patches": list(v.patches), "build_id": v.build_id,
                        "open": n} for v, n in sorted(counts.items())], indent=2)


cases_app = typer.Typer(help="Look at the cases' workflows in Temporal.", no_args_is_help=True)


@cases_app.command("versions")
def versions(
    workflow_type: Annotated[str | None, typer.Option("--type", help="Only this workflow type, e.g. FbuCase.")]
    = None,
    limit: Annotated[int | None, typer.Option(help="Look at no more than this many open runs.")] = None,
    concurrency: Annotated[int, typer.Option(help="Histories read at once.")] = 16,
    as_json_: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Open cases by workflow code version (patches recorded, build id of the last workflow task)."""
    settings = setup()
    if workflow_type is not None and not workflow_type.isidentifier():
        raise fail(f"--type must be a workflow type name like FbuCase, not {workflow_type!r}")

    def run() -> None:
        async def main() -> Counter[CodeVersion]:
            client = await connect(settings)
            return await open_case_versions(client, workflow_type, limit, concurrency)

        counts = asyncio.run(main())
        typer.echo(as_json(counts) if as_json_ else render(counts))

    run_client_command(run)
