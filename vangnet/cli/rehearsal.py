"""``vangnet simulate``: rehearse a scenario on the time-skipping server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from vangnet.cli.common import fail, guarded, parse_date
from vangnet.platform.logging import configure_logging
from vangnet.stack.rehearsal import ScenarioError, load_scenario, run_scenario

commands = typer.Typer()


@commands.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario JSON file (see docs/scenarios.md).")],
    start: Annotated[str | None, typer.Option(help="Day 0 as YYYY-MM-DD, not in the past (default: today).")] = None,
    save_histories: Annotated[Path | None, typer.Option(help="Write the workflow histories here (replay tests).")]
    = None,
) -> None:
    """Rehearse a scenario on the time-skipping server; prints every domain event as a JSON line."""

    configure_logging("console", "warning")
    begin = parse_date(start, "--start") if start else None

    def run() -> int:
        try:
            loaded = load_scenario(scenario)
            return asyncio.run(run_scenario(loaded, begin, progress=lambda m: typer.echo(m, err=True),
                                            histories=save_histories))
        except ScenarioError as exc:
            raise fail(str(exc)) from None

    status = guarded(run)
    if status:
        raise typer.Exit(status)
