"""Two steps sent at the same moment: each update's validator runs when it arrives, so both can be accepted
against the same state; the second is checked again when its turn under the case's lock comes and refused if the
first changed what it relies on (patch ``steps-recheck-under-lock``). Without it, both decisions on one claim were
recorded, and an energy case was closed twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver
from tests.recorded_histories import keep_history
from vangnet.storage.projections import APPEND_LOCK

T = TypeVar("T")
ROUNDS = 3  # a few rounds: the refusal must hold every time, whichever request goes first
ANSWER_WITHIN = 60.0  # seconds; the in-process client has no timeout, and a step that never answers must fail here


async def answered(what: str, pending: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(pending, ANSWER_WITHIN)
    except TimeoutError:
        raise AssertionError(f"{what}: no answer within {ANSWER_WITHIN:g} s") from None


async def test_two_decisions_on_one_claim_at_once_record_one(stack: Stack) -> None:
    d = Driver(stack)
    for _ in range(ROUNDS):
        case_id, _ = await d.in_force_case()
        claim = await eventually(lambda: d.claim(case_id, "initial"))  # noqa: B023 - awaited in this iteration
        url = f"/v1/claims/{claim['claim_id']}/decision"
        approve, reject = await answered("two decisions", asyncio.gather(
            d.api.post(url, json={"decision": "approve"}, headers=d.wv),
            d.api.post(url, json={"decision": "reject", "reason": "Bewijs ontbreekt"}, headers=d.wv)))
        statuses = sorted([approve.status_code, reject.status_code])
        assert statuses == [200, 409], (approve.text, reject.text)
        refused = approve if approve.status_code == 409 else reject
        assert refused.json()["code"] == "step_out_of_order", refused.text
        rows = await stack.pool.fetch("SELECT type FROM domain_events WHERE stream = $1", claim["claim_id"])
        types = [row["type"] for row in rows]
        assert types.count("ClaimApproved") + types.count("ClaimRejected") == 1, types
        await keep_history(stack.env.client, claim["claim_id"], f"fbu-claim-{claim['claim_id'].split('-', 1)[1][:12]}")


async def test_two_closings_accepted_while_a_step_holds_the_case_close_it_once(stack: Stack) -> None:
    """Two case workers close an energy case at the same moment (two requests, two keys) while the supplier's end
    of contract is being applied. The test holds the event log's append lock so that step is still running when
    both closings arrive: both validators pass against the open case and both wait for the step. The first closes
    the case; the second is refused when its turn comes, instead of closing it a second time."""
    d = EnergyDriver(stack)
    for _ in range(ROUNDS):
        case_id, _ = await d.open("gas")
        url = f"/v1/energy/cases/{case_id}"
        async with stack.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", APPEND_LOCK)
            try:
                ended = asyncio.create_task(d.api.post(f"{url}/supplier-events", headers=d.ocmw, json={
                    "type": "contract_ended", "on": str(await d.today())}))
                await asyncio.sleep(0.5)  # its append waits for the lock, the step holds the case
                closings = [asyncio.create_task(d.api.post(f"{url}/close", json={"reason": "moved"},
                                                           headers=d.ocmw)) for _ in range(2)]
                await asyncio.sleep(0.5)  # both closings reach the server and wait for the case's next task
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", APPEND_LOCK)
        assert (await answered("the end of contract", ended)).status_code == 200
        first, second = await answered("two closings", asyncio.gather(*closings))
        assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
        types = await d.types(case_id)
        assert types.count("CaseClosed") == 1 and types[-1] == "CaseClosed", types
        await keep_history(stack.env.client, case_id, f"energy-case-{case_id.removeprefix('nrg-')[:12]}")
