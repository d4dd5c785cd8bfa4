"""Energy activities: the rule book in force, and requests to the netbeheerder over HTTP (idempotency keys), each
recorded once accepted so that a callback that never comes can be asked for (``vangnet.services.callback_recovery``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import implements
from schemas.energy_rules import EnergyRuleBook
from schemas.netbeheerder import NetbeheerderRequest
from vangnet.rulebooks.rulebook import load_energy_rule_book
from vangnet.services.callback_recovery import record_request
from workflows import contracts


class EnergyActivities:
    def __init__(self, http: httpx.AsyncClient, netbeheerder_urls: dict[str, str],
                 rules_file: Path | None = None, pool: Any = None) -> None:
        self._http = http
        self._pool = pool
        self._urls = netbeheerder_urls
        self._rules_file = rules_file

    @implements(contracts.load_energy_rule_book)
    async def load_energy_rule_book(self) -> EnergyRuleBook:
        return load_energy_rule_book(self._rules_file)

    @implements(contracts.netbeheerder_request)
    async def netbeheerder_request(self, request: NetbeheerderRequest) -> None:
        base = self._urls.get(request.netbeheerder)
        if base is None:
            raise ApplicationError(f"no address configured for netbeheerder '{request.netbeheerder}'",
                                   type="NetbeheerderUnknown")  # retried: an operator can add it
        try:
            response = await self._http.post(base.rstrip("/") + "/v1/requests",
                                             content=request.model_dump_json(), timeout=20,
                                             headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise ApplicationError(f"netbeheerder unreachable: {type(exc).__name__}",
                                   type="NetbeheerderUnavailable") from exc
        if response.status_code in (200, 201, 202):
            if self._pool is not None:  # a failure here retries the request: the same key, acted on once
                await record_request(self._pool, request, case_id=activity.info().workflow_id or "")
            return
        if response.status_code in (400, 409, 422):
            raise ApplicationError(f"netbeheerder refused the request ({response.status_code})",
                                   type="NetbeheerderRefused", non_retryable=True)
        raise ApplicationError(f"netbeheerder answered {response.status_code}", type="NetbeheerderUnavailable")
