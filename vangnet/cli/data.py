"""The event log's data: ``erase`` personal data on request, ``projections rebuild`` the read models."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from vangnet.cli.common import fail, setup, with_db
from vangnet.services import retention
from vangnet.storage import projections

commands = typer.Typer()
projections_app = typer.Typer(help="Maintain the read models built from the event log.", no_args_is_help=True)


@commands.command()
def erase(
    subject: Annotated[str | None, typer.Option(help="A data subject id (sub-…).")] = None,
    case: Annotated[str | None, typer.Option(help="Erase every data subject of this case.")] = None,
) -> None:
    """Erase personal data for good by deleting the subjects' keys; events and amounts stay, names become 'erased'."""
    if (subject is None) == (case is None):
        raise fail("give exactly one of --subject or --case")
    settings = setup()

    async def work(conn: Any) -> None:
        found = await retention.subjects(conn, case_id=case, subject_ids=[subject] if subject else None,
                                         include_erased=True)
        if not found:
            raise fail(f"no personal data found for {'subject ' + subject if subject else 'case ' + str(case)}")
        erased = [s.subject_id for s in found
                  if await retention.erase(conn, s, reason="request", at=datetime.now(UTC),
                                           details={"via": "vangnet erase"})]
        typer.echo(json.dumps({"erased": erased,
                               "already_erased": [s.subject_id for s in found if s.subject_id not in erased]}))

    with_db(settings, work)


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Replay the whole event log into fresh read models."""
    settings = setup()

    async def work(conn: Any) -> None:
        total = await conn.fetchval("SELECT count(*) FROM domain_events")
        start = time.monotonic()

        def progress(n: int) -> None:
            typer.echo(f"\rreplayed {n}/{total} events", nl=False, err=True)

        n = await projections.rebuild(conn, progress)
        typer.echo(f"\nrebuilt {', '.join(projections.TABLES)} from {n} events in "
                   f"{time.monotonic() - start:.1f} s", err=True)

    with_db(settings, work)
