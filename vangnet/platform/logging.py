"""structlog setup: JSON lines in production, a console renderer in ``vangnet dev``.

Request and workflow ids are bound through contextvars; personal data is never passed to a logger (callers log
opaque ids only, and the ``_drop_personal_keys`` processor removes known personal keys as a safety net).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

PERSONAL_KEYS = frozenset({"name", "national_number", "iban", "address", "tenant", "landlord", "household"})


def _drop_personal_keys(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


class _OutageWithoutTraceback(logging.Filter):
    """A dependency that is briefly down (PostgreSQL restarting) is an outage to report in one line, not a bug:
    asyncpg's pool logs each failed reconnect with a full traceback, which this turns into the error's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            record.exc_info = None
        return True


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_personal_keys,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _OutageWithoutTraceback) for f in pool_log.filters):
        pool_log.addFilter(_OutageWithoutTraceback())
