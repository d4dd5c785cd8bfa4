"""Text from outside must be storable: PostgreSQL's ``text`` and ``jsonb`` cannot hold the NUL character (U+0000).

A NUL in a reason, note or policy field used to pass validation and fail deep down: a 500 from the database, or,
for a step that becomes a domain event, an ``append_events`` activity retrying forever behind a request that never
answers. Input models derive from ``NoNul`` so such text is refused up front with a 422 that names the field; the
API's middleware refuses a NUL in the URL (path parameters, query) the same way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

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


class NoNul(BaseModel):
    """Base of the models that accept text from outside: every field is checked by ``without_nul``."""

    model_config = ConfigDict(json_schema_extra=no_nul_in_schema, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return without_nul(value)
