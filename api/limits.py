"""Abuse limits: request body size, a write rate per bearer token (per API process), no NUL in the URL."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response

from api.problems import ErrorCode, response
from schemas.text import NUL, NUL_MESSAGE

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNLIMITED_PATHS = ("/v1/integrations/", "/codec/")  # signed machine traffic; bounded by the sender


@dataclass
class _Bucket:
    tokens: float
    updated: float


class WriteRateLimiter:
    """Token bucket per bearer token: ``per_minute`` writes, bursting up to the same number."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


def limits_check(max_body_bytes: int, limiter: WriteRateLimiter) -> Callable[[Request], Response | None]:
    """A request check for ``api.gate``: the refusal's problem response, or ``None``."""

    def check(request: Request) -> Response | None:
        path = request.scope["path"]
        if NUL in path or (request.scope["query_string"]
                           and any(NUL in k or NUL in v for k, v in request.query_params.multi_items())):
            # %00 decodes to a character PostgreSQL cannot take as a parameter (see schemas/text.py).
            return response(ErrorCode.INVALID_INPUT, f"The URL (a path parameter or the query) {NUL_MESSAGE}.")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return response(ErrorCode.BODY_TOO_LARGE, f"The request body is larger than {max_body_bytes} bytes.")
        if request.method not in WRITE_METHODS or path.startswith(UNLIMITED_PATHS):
            return None
        # the web application's session cookie holds a token too: its writes count against the same budget
        auth = request.headers.get("authorization", "") or request.cookies.get("vangnet_session", "")
        if auth:
            wait = limiter.allow(hashlib.sha256(auth.encode()).hexdigest())
            if wait:
                return response(ErrorCode.RATE_LIMITED, "Too many changes in a short time; try again shortly.",
                                headers={"Retry-After": str(max(1, round(wait)))})
        return None

    return check
