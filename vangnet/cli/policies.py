"""``vangnet policies …``: the data-sharing policies between organisations."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from schemas.calendar import brussels_date
from vangnet.cli.common import fail, parse_date, setup, with_db
from vangnet.security.sharing import PolicyIn, add_policy, end_policy, seed_demo

policies_app = typer.Typer(help="Data-sharing policies between organisations.", no_args_is_help=True)


@policies_app.command("list")
def policies_list() -> None:
    """Print every data-sharing policy as a JSON line (add one with `policies add`, end one with `policies end`)."""
    settings = setup()

    async def work(conn: Any) -> None:
        rows = await conn.fetch("SELECT * FROM sharing_policies ORDER BY created_at, policy_id")
        for r in rows:
            typer.echo(json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()},
                                  ensure_ascii=False))
        if not rows:
            typer.echo("no data-sharing policies: no data crosses an organisation boundary", err=True)

    with_db(settings, work)


@policies_app.command("seed-demo")
def policies_seed_demo() -> None:
    """Record DEMO policies (marked as such) on an empty table, so the flows can be tried on a dev machine."""
    settings = setup()

    async def work(conn: Any) -> None:
        n = await seed_demo(conn)
        typer.echo(f"demo data-sharing policies recorded: {n}" if n else "policies exist already; nothing seeded",
                   err=True)

    with_db(settings, work)


@policies_app.command("add")
def policies_add(
    file: Annotated[str, typer.Argument(help="A policy as JSON (the body of POST /v1/admin/sharing-policies); "
                                             "'-' reads standard input.")],
) -> None:
    """Record a data-sharing policy (legal basis, agreement, purpose, data categories, validity); prints it."""
    settings = setup()


    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        policy = PolicyIn.model_validate_json(text)
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise fail(f"the policy is not valid, nothing was recorded: {problems}") from None

    async def work(conn: Any) -> None:
        added = await add_policy(conn, policy, f"cli:{getpass.getuser()}")
        typer.echo(added.model_dump_json())

    with_db(settings, work)


@policies_app.command("end")
def policies_end(
    policy_id: Annotated[str, typer.Argument(help="The policy id (pol-…).")],
    on: Annotated[str | None, typer.Option(help="Last day it applies (YYYY-MM-DD); default today in Brussels.")]
    = None,
) -> None:
    """End a policy (it is kept with its end date, so what was shared under it stays explainable)."""
    settings = setup()


    day = parse_date(on, "--on") if on else brussels_date(datetime.now(UTC))

    async def work(conn: Any) -> None:
        if not await end_policy(conn, policy_id, day):
            raise fail(f"no policy {policy_id} that is in force on {day} and ends later")
        typer.echo(f"policy {policy_id} ends on {day}", err=True)

    with_db(settings, work)
