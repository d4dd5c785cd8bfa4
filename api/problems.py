"""One error format for the whole API: RFC 9457 problem details (``application/problem+json``).

Every refusal carries a stable machine-readable ``code`` (the English message in ``detail`` may change, the code
does not), so an OCMW's case-management software can branch on it. The codes, their statuses and titles are
listed once, here; the OpenAPI document (``api/openapi.py``) and ``docs/api.md`` are written from this list.

Raise ``Refusal(code, detail)`` for a business refusal; a plain ``HTTPException`` gets the code of its status
(``DEFAULT_FOR_STATUS``), so framework errors and the simple 404s need no ceremony.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from schemas.common import RuleBetweenFields

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:vangnet:problem:"


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    INCONSISTENT_FIELDS = "inconsistent_fields"
    UNDECODABLE_PAYLOAD = "undecodable_payload"
    MALFORMED_BODY = "malformed_body"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    WRONG_MUNICIPALITY = "wrong_municipality"
    WRONG_NETBEHEERDER = "wrong_netbeheerder"
    NO_SHARING_POLICY = "no_sharing_policy"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    STEP_OUT_OF_ORDER = "step_out_of_order"
    INVALID_FOR_CASE = "invalid_for_case"
    CASE_ENDED = "case_ended"
    CASE_ALREADY_OPEN = "case_already_open"
    NOT_ELIGIBLE = "not_eligible"
    NO_RULE_SET = "no_rule_set"
    DATE_IN_FUTURE = "date_in_future"
    UNKNOWN_NETBEHEERDER = "unknown_netbeheerder"
    NO_DOCUMENT = "no_document"
    POLICY_NOT_IN_FORCE = "policy_not_in_force"
    MINIMAL_SUPPLY_RESTORE_AUTOMATIC = "minimal_supply_restore_automatic"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    ENGINE_FAILED = "engine_failed"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    SERVICE_STARTING = "service_starting"
    CASE_STARTING = "case_starting"


@dataclass(frozen=True)
class CodeInfo:
    status: int
    title: str
    meaning: str


C = ErrorCode
CODES: dict[ErrorCode, CodeInfo] = {
    C.INVALID_INPUT: CodeInfo(422, "Invalid input", "The request does not satisfy the schema (a field, a parameter, "
                              "a NUL character in the URL); `errors` names each field."),
    C.INCONSISTENT_FIELDS: CodeInfo(422, "Fields do not fit together", "Each field satisfies the schema, but "
                                    "together they break a rule no schema can state: a repayment plan's instalments "
                                    "in date order with distinct dates, a sharing policy's `valid_until` not before "
                                    "its `valid_from`, a report period's `from` not after its `to` and not longer "
                                    "than one report covers; `detail` says which. Operations list it in "
                                    "`x-error-codes` only where such a rule applies."),
    C.UNDECODABLE_PAYLOAD: CodeInfo(422, "Payload cannot be decoded", "Codec only: a payload is marked as "
                                    "encrypted by Vangnet but does not decrypt (another key, or altered); nothing "
                                    "is decoded."),
    C.MALFORMED_BODY: CodeInfo(400, "Malformed body", "The body is not JSON (or not the form the operation takes)."),
    C.UNAUTHENTICATED: CodeInfo(401, "Not authenticated", "No bearer token, or one that is invalid or expired (for "
                                "netbeheerder callbacks: a missing, forged or stale signature)."),
    C.FORBIDDEN: CodeInfo(403, "Not allowed", "The token's role may not use this operation (or this scope)."),
    C.WRONG_MUNICIPALITY: CodeInfo(403, "Another OCMW's municipality", "The dwelling or household lies in another "
                                   "municipality; its case belongs to that municipality's OCMW."),
    C.WRONG_NETBEHEERDER: CodeInfo(403, "Another netbeheerder's connection point",
                                   "A netbeheerder opens cases for its own connection points only."),
    C.NO_SHARING_POLICY: CodeInfo(403, "No data-sharing basis", "No data-sharing policy (or consent) in force allows "
                                  "this organisation to see the data; `detail` says which basis is missing."),
    C.NOT_FOUND: CodeInfo(404, "Not found", "No such case, claim or policy for you (another organisation's objects "
                          "answer the same, so ids cannot be probed)."),
    C.METHOD_NOT_ALLOWED: CodeInfo(405, "Method not allowed", "The path exists; the `Allow` header lists its methods."),
    C.STEP_OUT_OF_ORDER: CodeInfo(409, "Step out of order", "The step does not fit the case's current state."),
    C.INVALID_FOR_CASE: CodeInfo(409, "Does not fit the case", "The command is well formed but does not fit this "
                                 "case's facts (a date before the notice of default, a plan that does not add up to "
                                 "the arrears, …); `detail` says what."),
    C.CASE_ENDED: CodeInfo(409, "Case ended", "The case or claim has ended; no further steps are possible."),
    C.CASE_ALREADY_OPEN: CodeInfo(409, "Case already open", "There is already an open case for this connection "
                                  "point and energy."),
    C.NOT_ELIGIBLE: CodeInfo(409, "Not eligible", "Neither the rule set in force today nor a later one (a "
                             "submission may fall under it) lets the fund take this case. An answer at opening is "
                             "provisional: the submission day's rule set decides."),
    C.NO_RULE_SET: CodeInfo(409, "No rule set for the date", "No rule set in the rule book covers the date."),
    C.DATE_IN_FUTURE: CodeInfo(409, "Date in the future", "The date lies after today (Brussels)."),
    C.UNKNOWN_NETBEHEERDER: CodeInfo(409, "Unknown netbeheerder", "Vangnet is not configured for this netbeheerder."),
    C.NO_DOCUMENT: CodeInfo(409, "Document not available", "The case has not reached the state the document needs."),
    C.POLICY_NOT_IN_FORCE: CodeInfo(409, "Policy not in force", "The data-sharing policy exists but is not in "
                                    "force today (it has ended, ends today, or starts later); only a policy in "
                                    "force can be ended."),
    C.MINIMAL_SUPPLY_RESTORE_AUTOMATIC: CodeInfo(
        409, "Minimal supply comes back by itself", "Under the rule set in force on the day of the latest debt "
        "report (from 2022-07-01) minimal supply is switched back on automatically once the total debt is below the "
        "threshold (150 euro); a restore request applies only to the earlier rule (50% repaid, on request)."),
    C.BODY_TOO_LARGE: CodeInfo(413, "Body too large", "The request body is larger than the API accepts."),
    C.RATE_LIMITED: CodeInfo(429, "Too many changes", "Too many writes with this token in a short time; wait the "
                             "`Retry-After` seconds."),
    C.ENGINE_FAILED: CodeInfo(500, "Step failed in the engine", "The step failed inside the workflow engine; it "
                              "was not applied."),
    C.ENGINE_UNAVAILABLE: CodeInfo(503, "Workflow engine unavailable", "Temporal cannot be reached; nothing was "
                                   "changed. Repeat the request (with the same Idempotency-Key)."),
    C.DATABASE_UNAVAILABLE: CodeInfo(503, "Database unavailable", "PostgreSQL is down or restarting; nothing was "
                                     "lost. Try again in a moment (a step with the same Idempotency-Key is applied "
                                     "once)."),
    C.SERVICE_STARTING: CodeInfo(503, "Service starting", "The API is starting; try again in a moment."),
    C.CASE_STARTING: CodeInfo(503, "Case still starting", "The case was created but has not written its first "
                              "events yet; repeat the request with the same Idempotency-Key."),
}
DEFAULT_FOR_STATUS: dict[int, ErrorCode] = {
    400: C.MALFORMED_BODY, 401: C.UNAUTHENTICATED, 403: C.FORBIDDEN,
    404: C.NOT_FOUND, 405: C.METHOD_NOT_ALLOWED, 409: C.STEP_OUT_OF_ORDER,
    413: C.BODY_TOO_LARGE, 422: C.INVALID_INPUT, 429: C.RATE_LIMITED, 500: C.ENGINE_FAILED,
    503: C.ENGINE_UNAVAILABLE,
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field (`tenant.iban`, `plan.0.amount`); empty for the body "
                                   "as a whole.", examples=["tenant.iban"])
    message: str = Field(examples=["not a valid Belgian IBAN"])


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is the stable part to branch on."""

    type: str = Field(description="URI of the problem type: `urn:vangnet:problem:` + code.",
                      examples=["urn:vangnet:problem:step_out_of_order"])
    title: str = Field(examples=["Step out of order"])
    status: int = Field(ge=400, le=599, examples=[409])
    detail: str = Field(description="What went wrong, for the social worker.",
                        examples=["The agreement must be signed by all three parties first."])
    code: ErrorCode
    errors: list[FieldError] | None = Field(None, description="Validation only: one entry per wrong field.")


class Refusal(HTTPException):
    """An HTTP error with its stable code; the status comes from the code."""

    def __init__(self, code: ErrorCode, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(CODES[code].status, detail, dict(headers) if headers else None)
        self.code = code


def response(code: ErrorCode, detail: str, *, errors: list[dict[str, str]] | None = None,
             headers: Mapping[str, str] | None = None, status: int | None = None) -> JSONResponse:
    """The problem response for ``code``; middleware that answers before routing uses this too."""
    info = CODES[code]
    body: dict[str, Any] = {"type": TYPE_PREFIX + code.value, "title": info.title, "status": status or info.status,
                            "detail": detail, "code": code.value}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status or info.status, headers=dict(headers) if headers else None,
                        media_type=MEDIA_TYPE)


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as ``{field, message}``: the dotted field path without the ``body`` prefix."""
    return [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
             "message": str(e.get("msg", "")).removeprefix("Value error, ")} for e in errors]


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = field_errors(errors)
    summary = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
    between = bool(errors) and all(isinstance(e.get("ctx", {}).get("error"), RuleBetweenFields) for e in errors)
    return response(C.INCONSISTENT_FIELDS if between else C.INVALID_INPUT, summary, errors=problems)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or DEFAULT_FOR_STATUS.get(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route with this path; the path may have several routes.
        headers["Allow"] = ", ".join(sorted(allowed_methods(request))) or headers.get("Allow", "")
    if code is None:  # a status without a code of its own (none is raised today): keep it, say it plainly
        return response(C.INVALID_INPUT if exc.status_code < 500 else C.ENGINE_FAILED, str(exc.detail),
                        headers=headers, status=exc.status_code)
    return response(code, str(exc.detail), headers=headers, status=exc.status_code)


def allowed_methods(request: Request) -> set[str]:
    """The methods the OpenAPI document lists for the request's path (HEAD with GET, as Starlette serves it)."""
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods = {m.upper() for m in operations}
            return methods | {"HEAD"} if "GET" in methods else methods
    return set()


async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL down or restarting (refused, socket gone, connection cut, shutting down): 503, not 500. Any
    OSError that escapes a route lands here too: the API's only I/O outside Temporal is the database. asyncpg's
    InterfaceError ("connection is closed") is what a pooled connection cut by a restart can raise."""
    log.warning("database unavailable", error=type(exc).__name__, path=request.url.path)
    return response(C.DATABASE_UNAVAILABLE, CODES[C.DATABASE_UNAVAILABLE].meaning, headers={"Retry-After": "2"})


async def on_connection_left_busy(request: Request, exc: Exception) -> JSONResponse:
    """asyncpg's "cannot switch to state …; another operation is in progress": a pooled connection whose last
    operation a PostgreSQL restart cut off (seen once in the fault suite). Any other internal client error stays
    a 500."""
    if "another operation" not in str(exc):
        raise exc
    return await on_database_down(request, exc)


def install(app: Any) -> None:
    """Register the handlers that turn every error into a problem."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for down in (OSError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                 asyncpg.InterfaceError):
        app.add_exception_handler(down, on_database_down)
    app.add_exception_handler(asyncpg.InternalClientError, on_connection_left_busy)
