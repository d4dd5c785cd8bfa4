"""Retention activities: find the personal data whose retention period is over, and erase it (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import implements
from schemas.retention import EraseExpired, ExpiredSubject, FindExpired
from schemas.retention_rules import NoRetentionRuleSetError, RetentionBook
from vangnet.rulebooks.rulebook import RuleBookError, load_retention_book
from vangnet.services import retention
from workflows import contracts


class RetentionActivities:
    def __init__(self, pool: asyncpg.Pool, rules_file: Path | None = None) -> None:
        self._pool = pool
        self._rules_file = rules_file

    def _book(self) -> RetentionBook:
        try:
            return load_retention_book(self._rules_file)
        except RuleBookError as exc:  # an operator's broken edit: retrying will not fix it, say so loudly
            raise ApplicationError(str(exc), type="RuleBook", non_retryable=True) from exc

    @implements(contracts.find_expired_personal_data)
    async def find_expired_personal_data(self, request: FindExpired) -> list[ExpiredSubject]:
        try:
            return await retention.expired(self._pool, self._book(), request.as_of, limit=request.limit)
        except NoRetentionRuleSetError as exc:
            raise ApplicationError(str(exc), type="NoRuleSet", non_retryable=True) from exc

    @implements(contracts.erase_expired_personal_data)
    async def erase_expired_personal_data(self, request: EraseExpired) -> int:
        async with self._pool.acquire() as conn:
            n = await retention.erase_expired(conn, self._book(), request.as_of, request.subject_ids, request.at)
        activity.logger.info("retention: erased %d of %d subjects", n, len(request.subject_ids))
        return n
