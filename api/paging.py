"""One page of a read-model table, with the total the page belongs to (the case lists share it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import asyncpg
from fastapi import Query

MAX_PAGE = 100_000  # far past any real list; an OFFSET beyond PostgreSQL's bigint answered 500
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Items per page.")]


async def fetch_page(pool: asyncpg.Pool, table: str, where: str, args: Sequence[object], order_by: str, page: int,
                     page_size: int) -> tuple[int, list[asyncpg.Record]]:
    """(total rows matching, the rows of ``page``); ``table``, ``where`` and ``order_by`` are fixed SQL of the
    caller, never user input (values go in ``args``)."""
    total: int = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", *args)  # noqa: S608
    rows = await pool.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY {order_by} "  # noqa: S608
                            f"LIMIT {int(page_size)} OFFSET {(int(page) - 1) * int(page_size)}", *args)
    return total, rows
