"""Text from outside must be storable: PostgreSQL's ``text`` and ``jsonb`` cannot hold the NUL character (U+0000).

A NUL in a reason, note or policy field used to pass validation and fail deep down: a 500 from the database, or,
for a step that becomes a domain event, an ``append_events`` activity retrying forever behind a request that never
answers. Input models derive from ``NoNul`` so such text is refused up front with a 422 that names the field; the
API's middleware refuses a NUL in the URL (path parameters, query) the same way.

Text is stripped of surrounding whitespace (``str_strip_whitespace``), but a field's ``maxLength`` counts the text
as sent: 200 spaces and a name do not fit a 200-character field just because the spaces would be stripped. That is
what the JSON schema says (``maxLength`` applies to the string in the request), so ``AsSent`` (the base of request
bodies) checks it before stripping, from the model's own schema. ``minLength`` counts what is left after
stripping; the schema says so with a pattern (``no_nul_in_schema``). Likewise a JSON value of another type than the
schema says is refused, not converted (pydantic's lax mode would read ``0`` as ``false`` or as the date 1970-01-01,
and ``"5"`` as ``5``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
NO_NUL_PATTERN = "^[^\\x00]*$"  # the same rule in the JSON schema of every text field without a pattern of its own
T = TypeVar("T")


def without_nul(value: T) -> T:
    """``value`` unchanged, or ValueError when a string in it (also a key or item of a dict or list) holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            raise ValueError(NUL_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            without_nul(key)
            without_nul(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            without_nul(item)
    return value


def no_nul_in_schema(schema: dict[str, Any]) -> None:
    """Say in the JSON schema what ``without_nul`` enforces, so a client (or a fuzzer) knows NUL is refused."""
    def mark(node: dict[str, Any]) -> None:
        if node.get("type") == "string" and "pattern" not in node and "format" not in node and "enum" not in node:
            node["pattern"] = NO_NUL_PATTERN
            least = node.get("minLength", 0)
            if least:  # text is stripped before its length is checked (str_strip_whitespace)
                node["pattern"] = ("^\\s*[^\\s\\x00][^\\x00]*$" if least == 1 else
                                   f"^\\s*[^\\s\\x00][^\\x00]{{{least - 2},}}[^\\s\\x00]\\s*$")
        for key in ("anyOf", "oneOf"):
            for option in node.get(key, []):
                mark(option)
        if isinstance(node.get("items"), dict):
            mark(node["items"])
    for prop in schema.get("properties", {}).values():
        mark(prop)


#: JSON type -> pydantic's error type for a value that is not of it.
TYPE_ERRORS = {"boolean": "bool_type", "integer": "int_type", "number": "float_type", "string": "string_type",
               "array": "list_type", "object": "dict_type", "null": "none_required"}


def json_types(value: Any) -> set[str]:
    """The JSON Schema types ``value`` (parsed JSON) is an instance of; empty for a value JSON cannot hold."""
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return {"integer", "number"}
    kinds = {float: "number", str: "string", list: "array", dict: "object"}
    return {kind for base, kind in kinds.items() if isinstance(value, base)}


def not_as_sent(value: Any, node: dict[str, Any], loc: tuple[str | int, ...] = ()) -> Iterator[InitErrorDetails]:
    """Where ``value`` as sent breaks its schema ``node`` although pydantic would take it after converting it: a
    JSON value of another type than the schema says (``0`` for a boolean or a date, ``"5"`` for an integer), and
    text longer than ``maxLength`` before stripping. Nested models (``$ref``) check their own fields."""
    options = node.get("anyOf", [node])
    wanted = [o.get("type") for o in options]
    sent = json_types(value)
    if sent and all(isinstance(t, str) for t in wanted) and not sent & set(wanted):
        yield InitErrorDetails(type=TYPE_ERRORS[wanted[0]], loc=loc, input=value)
        return
    if isinstance(value, str) and node.get("type") == "string" and len(value) > node.get("maxLength", len(value)):
        yield InitErrorDetails(type="string_too_long", loc=loc, input=value, ctx={"max_length": node["maxLength"]})
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            yield from not_as_sent(item, node["items"], (*loc, i))
    for option in node.get("anyOf", []):
        if option.get("type") in sent:  # the option the value is meant for (a null is not a too-long string)
            yield from not_as_sent(value, option, loc)


@cache
def _field_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Field name as sent (its alias) -> its node in the model's JSON schema, the contract the request is held to."""
    properties: dict[str, dict[str, Any]] = model.model_json_schema()["properties"]
    return properties


class NoNul(BaseModel):
    """Base of the models that accept text from outside: every field is checked by ``without_nul``."""

    model_config = ConfigDict(json_schema_extra=no_nul_in_schema, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return without_nul(value)


class AsSent(NoNul):
    """Base of the API's request bodies: also checked as sent against their own schema (``not_as_sent``), so the
    OpenAPI document is exactly as strict as the validation.

    Only in Python mode, the mode FastAPI validates parsed bodies in; JSON-mode validation (a Temporal payload, a
    raw netbeheerder callback) is left as it was. Not for models with ``strict`` parts validated in JSON mode: any
    ``before`` validator hands them Python values, and a strict date then refuses its ISO string (the callback
    models stay ``NoNul``)."""

    @model_validator(mode="before")
    @classmethod
    def _as_sent(cls, data: Any, info: ValidationInfo) -> Any:
        if info.mode == "python" and isinstance(data, dict):
            errors = [e for key, node in _field_schemas(cls).items() if isinstance(key, str) and key in data
                      for e in not_as_sent(data[key], node, (key,))]
            if errors:  # pydantic places these under the model's own location, with its usual message
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
