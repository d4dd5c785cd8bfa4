"""The auditor's view of the access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.context import ApiContext, get_context, require
from vangnet.security import access_log
from vangnet.security.access_log import AccessEntry
from vangnet.security.tokens import Principal

router = APIRouter(prefix="/v1/audit", tags=["Audit"])


@router.get("/access", response_model=list[AccessEntry], summary="Who read which case's personal data")
async def access(_: Annotated[Principal, Depends(require("auditor"))],
                 ctx: Annotated[ApiContext, Depends(get_context)],
                 case: Annotated[str | None, Query(max_length=100)] = None,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[AccessEntry]:
    return await access_log.entries(ctx.pool, case, limit)
