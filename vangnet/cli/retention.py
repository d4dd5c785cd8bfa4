"""``vangnet retention …``: run the retention job now, keep its Schedule, and show the retention rules."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from schemas.calendar import brussels_date
from schemas.retention import RetentionProgress, RetentionSweepInput
from schemas.retention_rules import NoRetentionRuleSetError
from vangnet.cli.common import fail, guarded, parse_date, run_client_command, setup
from vangnet.platform.temporal_client import connect
from vangnet.rulebooks.rulebook import load_retention_book
from vangnet.services import retention_schedule

retention_app = typer.Typer(help="Erase personal data whose retention period is over.", no_args_is_help=True)


async def _client(settings: Any) -> Any:

    try:
        return await connect(settings)
    except RuntimeError as exc:
        raise fail(f"Temporal at {settings.temporal_target} is not reachable ({exc}); is `make dev` running?"
                   ) from None


@retention_app.command("run")
def run(
    as_of: Annotated[str | None, typer.Option(help="Erase what is due on this day (YYYY-MM-DD, not in the future); "
                                                   "default today in Brussels.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only list what would be erased (subject and case ids).")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="Subjects erased per activity.")] = 200,
) -> None:
    """Run the retention job now (the same workflow the nightly Schedule starts) and wait for it."""
    settings = setup()
    day = parse_date(as_of, "--as-of") if as_of else None

    async def work() -> None:
        if day is not None and day > brussels_date(datetime.now(UTC)):
            raise fail(f"--as-of {day} is in the future: erasing data before its retention period ends is refused")
        client = await _client(settings)
        handle = await client.start_workflow(
            "RetentionSweep", RetentionSweepInput(as_of=day, batch_size=batch_size, dry_run=dry_run),
            id=f"retention-sweep-manual-{uuid.uuid4().hex[:12]}", task_queue=settings.temporal_task_queue,
            result_type=RetentionProgress)
        typer.echo(f"retention job started: {handle.id}", err=True)
        result_task = asyncio.ensure_future(handle.result())
        shown = ""
        while not result_task.done():
            await asyncio.wait([result_task], timeout=1)
            if result_task.done():
                break
            p: RetentionProgress = await handle.query("progress", result_type=RetentionProgress)
            line = f"  as of {p.as_of}: {p.found} found, {p.erased} erased, {p.batches} batches"
            if line != shown:
                typer.echo(line, err=True)
                shown = line
        result: RetentionProgress = result_task.result()
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))

    run_client_command(lambda: asyncio.run(work()))


@retention_app.command("schedule")
def schedule() -> None:
    """Create or update the nightly retention Schedule from the settings, and show its next runs."""
    settings = setup()

    async def work() -> None:
        client = await _client(settings)
        ensured = await retention_schedule.ensure(client, settings, settings.temporal_task_queue)
        described = await client.get_schedule_handle(ensured.schedule_id).describe()
        typer.echo(json.dumps({
            "schedule_id": ensured.schedule_id, "action": ensured.action, "cron": settings.retention_cron,
            "time_zone": retention_schedule.TIME_ZONE, "paused": described.schedule.state.paused,
            "next_runs": [t.isoformat() for t in described.info.next_action_times[:5]],
            "recent_runs": [a.started_at.isoformat() for a in described.info.recent_actions[-5:]],
        }, indent=2))

    run_client_command(lambda: asyncio.run(work()))


@retention_app.command("rules")
def rules(
    closed_on: Annotated[str | None, typer.Option(help="A closing day: show the rule set and due dates for it.")]
    = None,
) -> None:
    """Print the retention rule sets, or the one in force for a case closed on a day with its due dates."""
    settings = setup()

    def work() -> None:
        book = load_retention_book(settings.retention_rules_file)
        if closed_on is None:
            for rs in book.rule_sets:
                typer.echo(json.dumps(rs.model_dump(mode="json"), ensure_ascii=False))
            return
        day = parse_date(closed_on, "--closed-on")
        try:
            rs = book.select(day)
        except NoRetentionRuleSetError as exc:
            raise fail(str(exc)) from None
        typer.echo(json.dumps({"rule_set": rs.id, "closed_on": day.isoformat(), "erased_from": {
            kind: {"period": p.describe(), "due_on": p.due(day).isoformat()} for kind, p in rs.periods.items()}},
            indent=2))

    guarded(work)
