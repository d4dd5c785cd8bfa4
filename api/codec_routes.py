"""Codec endpoint for the Temporal Web UI (the remote codec protocol): decrypt payloads for an administrator.

Point the UI at it with ``--ui-codec-endpoint http://HOST:PORT/codec``. Everyone else sees only ciphertext.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload, Payloads

from api.context import ApiContext, get_context, require
from vangnet.tokens import Principal

router = APIRouter(prefix="/codec", tags=["Platform"])
Admin = Annotated[Principal, Depends(require("admin"))]
Ctx = Annotated[ApiContext, Depends(get_context)]


async def _apply(request: Request, ctx: ApiContext, decode: bool) -> dict[str, Any]:
    body = await request.json()
    payloads = ParseDict(body, Payloads()).payloads
    codec = ctx.client.data_converter.payload_codec
    if codec is None:
        result: list[Payload] = list(payloads)
    else:
        result = await (codec.decode(payloads) if decode else codec.encode(payloads))
    return MessageToDict(Payloads(payloads=result))


@router.post("/decode", summary="Decrypt payloads (administrators only)")
async def decode(request: Request, _: Admin, ctx: Ctx) -> dict[str, Any]:
    return await _apply(request, ctx, decode=True)


@router.post("/encode", summary="Encrypt payloads (administrators only)")
async def encode(request: Request, _: Admin, ctx: Ctx) -> dict[str, Any]:
    return await _apply(request, ctx, decode=False)
