"""What the API needs at run time, created once per process (one Temporal client, one pool)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.problems import ErrorCode, Refusal
from schemas.calendar import brussels_date
from vangnet.platform.converter import vault_for
from vangnet.platform.settings import Settings
from vangnet.security.tokens import Principal, Role, TokenError, TokenVerifier
from vangnet.security.vault import Vault
from vangnet.storage.eventstore import StreamStarts


@dataclass
class ApiContext:
    settings: Settings
    client: Client
    pool: asyncpg.Pool
    verifier: TokenVerifier
    task_queue: str
    clock: Callable[[], Awaitable[datetime]] = field(default=None)  # type: ignore[assignment]
    vault: Vault | None = None
    stream_starts: StreamStarts | None = None  # without it, an opening is confirmed by polling the log alone

    def personal_data(self) -> Vault:
        """The vault that seals personal data at rest (from the settings' master keys)."""
        if self.vault is None:
            self.vault = vault_for(self.settings)
        return self.vault

    async def today(self) -> date:
        """Today in Brussels: the wall clock, or the virtual clock of a rehearsal on the time-skipping server."""
        now = await self.clock() if self.clock is not None else datetime.now(UTC)
        return brussels_date(now)


async def get_context(request: Request) -> ApiContext:
    """Async on purpose, like every dependency here: FastAPI runs a sync one in a worker thread per request."""
    ctx: ApiContext | None = getattr(request.app.state, "ctx", None)
    if ctx is None:
        raise Refusal(ErrorCode.SERVICE_STARTING, "The service is starting; try again in a moment.")
    return ctx


_bearer = HTTPBearer(auto_error=False, description="A token from `vangnet token --role ROLE [--org ID]`.")


def authenticate(token: str | None, ctx: ApiContext, roles: tuple[Role, ...]) -> Principal:
    """The verified principal of ``token``; 401 without a valid one, 403 when its role is not one of ``roles``."""
    if token is None:
        raise HTTPException(401, "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = ctx.verifier.verify(token)
    except TokenError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    if principal.role not in roles:
        raise HTTPException(403, f"This needs one of the roles: {', '.join(roles)}.")
    return principal


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency: a verified token with one of ``roles``; 401 without one, 403 for another role."""

    async def dependency(
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
        ctx: ApiContext = Depends(get_context),
    ) -> Principal:
        return authenticate(creds.credentials if creds else None, ctx, roles)

    return dependency
