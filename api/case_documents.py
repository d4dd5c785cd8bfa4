"""Reading the case documents (the read model folded from the event log): every case GET answers from here.

Temporal's histories expire; the log and its read models are kept for the whole retention period, so a closed
case stays readable after its workflow is gone. Nothing here asks a workflow anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from fastapi import HTTPException, Response

from api.context import ApiContext
from api.problems import ErrorCode, Refusal
from schemas.energy import EnergyCaseState
from schemas.fbu import FbuCaseState
from vangnet.rulebooks.rulebook import load_energy_rule_book, load_fbu_rule_book
from vangnet.storage import energy_document, fbu_document

OPENED_WITHIN_SECONDS = 20.0  # a case normally writes its first events well under a second after its start
POLL_OPENED_EVERY = (0.005, 0.1)  # seconds: the first read's wait, doubling to the longest (without a notification)
PAGES_KEPT = 4096  # rendered case pages kept per API process (a few KiB each)

# (document text, EAN, day) -> (rule book, page JSON). A page is a pure function of those and the rule book; the
# book is compared by identity (the loader keeps one object per version of the file), so an edit renders anew.
_pages: OrderedDict[tuple[str, str | None, date], tuple[object, bytes]] = OrderedDict()


async def _read(ctx: ApiContext, case_id: str, kind: str) -> tuple[str, str | None, date, Any]:
    """What a case page is a pure function of: the document's text, the EAN (energy only), today, the rule book."""
    if kind == "fbu":
        raw = await ctx.pool.fetchval(
            "SELECT document FROM proj_case_documents WHERE case_id = $1 AND kind = 'fbu'", case_id)
        if raw is None:
            raise HTTPException(404, "No such case.")
        return await _fbu_inputs(ctx, raw)
    row = await ctx.pool.fetchrow(
        """SELECT d.document, e.ean FROM proj_case_documents d LEFT JOIN energy_cases e ON e.case_id = d.case_id
           WHERE d.case_id = $1 AND d.kind = 'energy'""", case_id)
    if row is None:
        raise HTTPException(404, "No such case.")
    return (str(row["document"]), str(row["ean"] or ""), await ctx.today(),
            load_energy_rule_book(ctx.settings.energy_rules_file))


async def _fbu_inputs(ctx: ApiContext, raw: object) -> tuple[str, str | None, date, Any]:
    return str(raw), None, await ctx.today(), load_fbu_rule_book(ctx.settings.fbu_rules_file)


def _fbu_view(raw: str, _: str | None, today: date, book: Any) -> FbuCaseState:
    return fbu_document.view(fbu_document.FbuCaseDocument.model_validate_json(raw), book, today)


def _energy_view(raw: str, ean: str | None, today: date, book: Any) -> EnergyCaseState:
    return energy_document.view(energy_document.EnergyCaseDocument.model_validate_json(raw), str(ean), book, today)


async def fbu_case(ctx: ApiContext, case_id: str) -> FbuCaseState:
    """The FBU case as of today: the document with plan progress and deadlines from the rule book."""
    return _fbu_view(*await _read(ctx, case_id, "fbu"))


async def energy_case(ctx: ApiContext, case_id: str) -> EnergyCaseState:
    """The energy case as of today: the document with its EAN (from the registry) and deadlines."""
    return _energy_view(*await _read(ctx, case_id, "energy"))


async def case_page(ctx: ApiContext, case_id: str, kind: str) -> Response:
    """``GET …/cases/{id}``: the case as of today, rendered once per document version, day and rule book."""
    return _page(kind, *await _read(ctx, case_id, kind))


async def owned_fbu_case_page(ctx: ApiContext, org: str | None, case_id: str) -> Response:
    """``GET /v1/fbu/cases/{id}``: ``case_page`` for the case's own OCMW, with ownership and document read in one
    query (404 for another organisation's case, as ``owned_case``: ids cannot be probed)."""
    row = await ctx.pool.fetchrow(
        """SELECT r.ocmw_id, d.document FROM case_registry r JOIN proj_case_documents d ON d.case_id = r.case_id
           WHERE r.case_id = $1 AND r.kind = 'fbu' AND d.kind = 'fbu'""", case_id)
    if row is None or row["ocmw_id"] != org:
        raise HTTPException(404, "No such case.")
    return _page("fbu", *await _fbu_inputs(ctx, row["document"]))


def _page(kind: str, raw: str, ean: str | None, today: date, book: Any) -> Response:
    key = (raw, ean, today)
    cached = _pages.get(key)
    if cached is not None and cached[0] is book:
        _pages.move_to_end(key)
        return Response(cached[1], media_type="application/json")
    render = _fbu_view if kind == "fbu" else _energy_view
    body = render(raw, ean, today, book).model_dump_json().encode()
    _pages[key] = (book, body)
    if len(_pages) > PAGES_KEPT:
        _pages.popitem(last=False)
    return Response(body, media_type="application/json")


async def wait_opened(ctx: ApiContext, case_id: str) -> None:
    """Answer 201 only once the case's first events are in the log (and so in its document); if that cannot be
    confirmed in time, say how to continue (the case exists: repeating the request with the same Idempotency-Key
    returns it). Bounded, and it costs the workflow nothing: the log is read when the append's notification
    arrives (``StreamStarts``), and polled meanwhile in case it never does."""
    deadline, (pause, longest) = time.monotonic() + OPENED_WITHIN_SECONDS, POLL_OPENED_EVERY
    async with _watching(ctx, case_id) as heard:
        while not await ctx.pool.fetchval("SELECT 1 FROM proj_case_documents WHERE case_id = $1", case_id):
            if time.monotonic() > deadline:
                raise Refusal(ErrorCode.CASE_STARTING,
                              f"Case {case_id} was created but is still starting; repeat the request with the "
                              "same Idempotency-Key or read the case in a moment.")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await heard.wait()
            heard.clear()
            pause = min(pause * 2, longest)


@contextlib.asynccontextmanager
async def _watching(ctx: ApiContext, case_id: str) -> AsyncIterator[asyncio.Event]:
    if ctx.stream_starts is None:
        yield asyncio.Event()  # never set: polling alone
        return
    async with ctx.stream_starts.watching(case_id) as heard:
        yield heard
