"""Tokens and keys: ``token`` (a bearer token from the embedded issuer) and ``rewrap-keys`` (after a master-key
rotation)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from vangnet.cli.common import fail, guarded, setup, with_db
from vangnet.platform.converter import vault_for
from vangnet.platform.settings import get_settings
from vangnet.security.tokens import TokenError, issue, load_or_create_key
from vangnet.security.vault import VaultError

commands = typer.Typer()


@commands.command()
def token(
    role: Annotated[str, typer.Option(help="ocmw, ocmw-coordinator, wonen-vlaanderen, netbeheerder, auditor, admin")],
    org: Annotated[str | None, typer.Option(help="The OCMW or netbeheerder id, e.g. ocmw-44021.")] = None,
    subject: Annotated[str | None, typer.Option(help="The user the token is for.")] = None,
) -> None:
    """Print a bearer token from the embedded identity provider."""
    settings = get_settings()

    def run() -> None:
        if settings.token_jwks_url:
            raise TokenError("an external identity provider is configured; get tokens from it")
        key = load_or_create_key(settings.key_file)
        typer.echo(issue(key, issuer=settings.token_issuer, audience=settings.token_audience, role=role, org=org,
                         subject=subject, ttl_seconds=settings.token_ttl_seconds))

    guarded(run)


@commands.command("rewrap-keys")
def rewrap_keys(
    batch: Annotated[int, typer.Option(min=1, max=10000, help="Subjects per transaction.")] = 500,
) -> None:
    """After a master-key rotation: wrap every subject's data key under the active master key, so the old master
    key can be retired. Safe to stop and run again; prints progress."""
    settings = setup()

    async def work(conn: Any) -> None:
        vault = vault_for(settings)
        before = await vault.master_key_use(conn)
        total = 0
        try:
            while True:
                async with conn.transaction():
                    done = await vault.rewrap(conn, batch)
                if not done:
                    break
                total += done
                typer.echo(f"  rewrapped {total} subject keys …", err=True)
        except VaultError as exc:
            raise fail(f"{exc} ({total} rewrapped before this)") from None
        typer.echo(json.dumps({"rewrapped": total, "before": before, "after": await vault.master_key_use(conn)}))

    with_db(settings, work)
