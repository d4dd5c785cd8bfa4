"""The OpenAPI document as a contract: every status an operation can answer, problems as shared components, and
links between operations.

FastAPI documents what a handler returns, not what the layers around it answer (the token check, the abuse
limits, the 404 of an unknown id, the 503 while starting). Those follow from the route's shape, so they are
derived here rather than written on each route: a bearer-token dependency answers 401/403, a path parameter 404,
a body 413, a write under the rate limit 429, the run-time context 503, and any request 422 (a NUL in the URL).
What only the handler knows it declares with ``openapi_extra=problem_codes(...)``. Every error response is a
``$ref`` to a shared response of its status; ``x-error-codes`` on the operation lists the codes it can answer.

A body model with a rule between its fields that no schema can state (``RULES_BETWEEN_FIELDS``, see
``schemas.common.RuleBetweenFields``) gives its operation the ``inconsistent_fields`` code and the rule in its
description, so the document says what else is refused and how.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from api.context import get_context
from api.limits import UNLIMITED_PATHS, WRITE_METHODS
from api.problems import CODES, MEDIA_TYPE, ErrorCode, Problem

C = ErrorCode
EXTENSION = "x-error-codes"
RESPONSE_NAMES = {400: "MalformedBody", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound",
                  405: "MethodNotAllowed", 409: "Conflict", 413: "BodyTooLarge", 422: "InvalidInput",
                  429: "RateLimited", 500: "EngineFailed", 503: "Unavailable"}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer` (token problems)", "schema": {"type": "string"}}},
    405: {"Allow": {"description": "The methods of the path", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
}
#: (operation creating or listing objects, JSON pointer to the id in its answer, path parameter, paths it feeds)
LINKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("POST /v1/fbu/cases", "201", "case_id", ("/v1/fbu/cases/{case_id}", "/v1/cases/{case_id}")),
    ("POST /v1/energy/cases", "201", "case_id", ("/v1/energy/cases/{case_id}", "/v1/cases/{case_id}")),
    ("POST /v1/admin/sharing-policies", "201", "policy_id", ("/v1/admin/sharing-policies/{policy_id}",)),
    ("GET /v1/fbu/cases", "200", "items/0/case_id", ("/v1/fbu/cases/{case_id}",)),
    ("GET /v1/energy/cases", "200", "items/0/case_id", ("/v1/energy/cases/{case_id}",)),
    ("GET /v1/claims", "200", "items/0/claim_id", ("/v1/claims/{claim_id}",)),
)


def problem_codes(*codes: ErrorCode) -> dict[str, Any]:
    """``openapi_extra`` of a route: the refusals only its handler knows about."""
    return {EXTENSION: [c.value for c in codes]}


STEP_CODES = problem_codes(C.STEP_OUT_OF_ORDER, C.INVALID_FOR_CASE, C.CASE_ENDED, C.ENGINE_FAILED, C.ENGINE_UNAVAILABLE)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _dependencies(dep)


def rules_between_fields(route: APIRoute) -> list[str]:
    """The rules between fields of the route's body model(s), in words (``RULES_BETWEEN_FIELDS``)."""
    return [rule for param in route.dependant.body_params
            for rule in getattr(param.field_info.annotation, "RULES_BETWEEN_FIELDS", ())]


def derived_codes(route: APIRoute, method: str, operation: dict[str, Any]) -> set[ErrorCode]:
    """What the layers around the handler answer for this route (see the module docstring)."""
    codes = {C.INVALID_INPUT}
    if rules_between_fields(route):
        codes.add(C.INCONSISTENT_FIELDS)
    if operation.get("security"):
        codes |= {C.UNAUTHENTICATED, C.FORBIDDEN}
    if "{" in route.path_format:
        codes.add(C.NOT_FOUND)
    if "requestBody" in operation:
        codes |= {C.BODY_TOO_LARGE, C.MALFORMED_BODY}
    if method in WRITE_METHODS and not route.path_format.startswith(UNLIMITED_PATHS):
        codes.add(C.RATE_LIMITED)
    if any(dep.call is get_context for dep in _dependencies(route.dependant)):
        codes.add(C.SERVICE_STARTING)
    return codes


def shared_responses() -> dict[str, Any]:
    """One response per status, its description listing the codes it carries."""
    out: dict[str, Any] = {}
    for status, name in RESPONSE_NAMES.items():
        lines = [f"- `{code.value}`: {info.meaning}" for code, info in CODES.items() if info.status == status]
        out[name] = {"description": "Problem details; `code` is one of:\n\n" + "\n".join(lines),
                     "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        if status in RESPONSE_HEADERS:
            out[name]["headers"] = RESPONSE_HEADERS[status]
    return out


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """The app's API routes with their effective paths (FastAPI nests included routers)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield cast("APIRoute", context)


def _document_errors(app: FastAPI, doc: dict[str, Any]) -> None:
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            codes = derived_codes(route, method, operation) | {C(c) for c in operation.get(EXTENSION, [])}
            responses = operation.setdefault("responses", {})
            own = {str(s) for s, r in (route.responses or {}).items() if "content" in r}  # e.g. an HTML page
            for status in sorted({CODES[c].status for c in codes}):
                if str(status) not in own:
                    responses[str(status)] = {"$ref": f"#/components/responses/{RESPONSE_NAMES[status]}"}
            operation[EXTENSION] = sorted(c.value for c in codes)
            if rules := rules_between_fields(route):
                operation["description"] = (operation.get("description", "") + "\n\nRefused with 422 "
                                            "`inconsistent_fields` (rules no schema can state):\n\n"
                                            + "\n".join(f"- {rule}" for rule in rules)).strip()


def _link(doc: dict[str, Any]) -> None:
    by_label = {f"{m.upper()} {p}": op for p, ops in doc["paths"].items() for m, op in ops.items()}
    for source, status, pointer, prefixes in LINKS:
        param = pointer.rsplit("/", 1)[-1]
        links = {}
        for label, target in by_label.items():
            path = label.split(" ", 1)[1]
            if path.startswith(prefixes) and "{" + param + "}" in path and path.count("{") == 1:
                links[target["operationId"]] = {"operationId": target["operationId"],
                                                "parameters": {param: f"$response.body#/{pointer}"}}
        by_label[source]["responses"][status]["links"] = links


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags, servers=app.servers)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = TypeAdapter(Problem).json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    schemas["ErrorCode"]["description"] = "Stable error codes:\n\n" + "\n".join(
        f"- `{code.value}` ({info.status}): {info.meaning}" for code, info in CODES.items())
    doc["components"]["responses"] = shared_responses()
    _document_errors(app, doc)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for name, schema in schemas.items():  # FastAPI's PlanItem-Input/-Output share a title: generators clash on it
        if name.endswith(("-Input", "-Output")):
            schema["title"] = name.replace("-", "")
    _link(doc)
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
