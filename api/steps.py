"""One HTTP route per human step: check ownership, then run the step as a Temporal update.

No postponed annotations here: FastAPI must see the real dependency objects of each generated handler.
"""


from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, get_type_hints

from fastapi import APIRouter, Depends, Header

from api.context import ApiContext, get_context
from api.openapi import STEP_CODES
from api.problems import ErrorCode
from api.updates import Update, run_update, step_name
from schemas.common import StepResult
from vangnet.security.tokens import Principal

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200,
           description="Repeat a request with the same key and it is applied once; the first answer is returned."),
]
OwnerCheck = Callable[[ApiContext, Principal, str], Awaitable[None]]


def add_step(router: APIRouter, *, update: Update, summary: str, path: str, principal: Any,
             owner_check: OwnerCheck, method: Literal["put", "post"] = "post",
             codes: tuple[ErrorCode, ...] = ()) -> None:
    """Register ``{method} /cases/{case_id}/{path}`` that runs the workflow's ``update`` method; its command type
    (the body) and its name (the route's name) come from the method itself. ``codes``: refusals of this step
    beyond those of every step (documented in the OpenAPI document)."""
    hints = get_type_hints(update)
    model = next(hint for arg, hint in hints.items() if arg != "return")

    async def handler(case_id: str, body: Any, who: Annotated[Principal, Depends(principal)],
                      ctx: Annotated[ApiContext, Depends(get_context)],
                      idempotency_key: IdempotencyKey = None) -> StepResult:
        await owner_check(ctx, who, case_id)
        result: StepResult = await run_update(ctx.client, case_id, update, body, idempotency_key)
        return result

    handler.__annotations__["body"] = model
    extra = {"x-error-codes": [*STEP_CODES["x-error-codes"], *(c.value for c in codes)]} if codes else STEP_CODES
    getattr(router, method)(f"/cases/{{case_id}}/{path}", response_model=StepResult, summary=summary,
                            name=step_name(update), openapi_extra=extra)(handler)
