"""Text from outside must be storable: PostgreSQL's ``text`` and ``jsonb`` cannot hold the NUL character (U+0000).

A NUL in a reason, note or policy field used to pass validation and fail deep down: a 500 from the database, or,
for a step that becomes a domain event, an ``append_events`` activity retrying forever behind a request that never
answers. Input models derive from ``NoNul`` so such text is refused up front with a 422 that names the field; the
API's middleware refuses a NUL in the URL (path parameters, query) the same way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, field_validator

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
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


class NoNul(BaseModel):
    """Base of the models that accept text from outside: every field is checked by ``without_nul``."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return without_nul(value)
