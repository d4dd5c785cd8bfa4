"""Finding an energy case by its connection point (EAN and energy), for openings and netbeheerder callbacks."""

from __future__ import annotations

import asyncpg


async def open_case_for(conn: asyncpg.Connection | asyncpg.Pool, ean: str, energy: str,
                        netbeheerder: str | None = None) -> str | None:
    """The open case of a connection point, if any (a case without projection row yet counts as open); with
    ``netbeheerder``, only a case of that netbeheerder: a callback never reaches another operator's case."""
    value = await conn.fetchval(
        """SELECT e.case_id FROM energy_cases e LEFT JOIN proj_energy_cases p USING (case_id)
           WHERE e.ean = $1 AND e.energy = $2 AND COALESCE(p.phase, 'notice_period') <> 'closed'
             AND ($3::text IS NULL OR e.netbeheerder = $3)
           ORDER BY e.case_id LIMIT 1""", ean, energy, netbeheerder)
    return str(value) if value is not None else None


async def case_for_callback(conn: asyncpg.Connection, ean: str, energy: str, netbeheerder: str) -> str | None:
    """The case a callback belongs to: the open one of the connection point, else its latest (a late callback
    still reaches a closed case's log, which records it)."""
    value = await open_case_for(conn, ean, energy, netbeheerder) or await conn.fetchval(
        "SELECT case_id FROM energy_cases WHERE ean = $1 AND energy = $2 AND netbeheerder = $3 "
        "ORDER BY case_id DESC LIMIT 1", ean, energy, netbeheerder)
    return str(value) if value is not None else None
