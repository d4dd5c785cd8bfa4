"""Data-sharing policies and consent: nothing crosses an organisation boundary without a valid basis.

Each flow (``FBU_CLAIM``: OCMW → Wonen-Vlaanderen; ``PAYMENT_SIGNAL``: netbeheerder → OCMW) needs a policy that
names its legal basis, agreement, purpose, data categories and validity. A policy may also require the person's
consent for its purpose; the latest consent record of the case decides. A refusal says which basis is missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import asyncpg
from pydantic import ConfigDict, Field, model_validator

from schemas.common import RuleBetweenFields
from schemas.text import AsSent

FBU_CLAIM = "ocmw-to-wonen-vlaanderen:fbu-claim"
PAYMENT_SIGNAL = "netbeheerder-to-ocmw:payment-signal"
FLOWS = (FBU_CLAIM, PAYMENT_SIGNAL)


class PolicyIn(AsSent):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    flow: str = Field(examples=[FBU_CLAIM], json_schema_extra={"enum": list(FLOWS)})
    from_org: str = Field(min_length=1, max_length=100, examples=["*"], description="'*' = every sender")
    to_org: str = Field(min_length=1, max_length=100, examples=["wonen-vlaanderen"])
    legal_basis: str = Field(min_length=3, max_length=500, examples=["Besluit Vlaamse Regering FBU 2020, art. 5"])
    agreement_ref: str = Field(min_length=3, max_length=200, examples=["Protocol OCMW–Wonen-Vlaanderen 2026/14"])
    purpose: str = Field(min_length=3, max_length=100, examples=["fbu-claim"])
    data_categories: list[str] = Field(min_length=1, examples=[["arrears", "agreement_dates", "rule_set"]])
    requires_consent: bool = False
    valid_from: date
    valid_until: date | None = None

    RULES_BETWEEN_FIELDS: ClassVar[tuple[str, ...]] = ("`valid_until`, when given, is not before `valid_from`.",)

    @model_validator(mode="after")
    def _check(self) -> PolicyIn:
        if self.flow not in FLOWS:
            raise ValueError(f"Unknown flow; known flows: {', '.join(FLOWS)}.")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise RuleBetweenFields("valid_until lies before valid_from.")
        return self


class Policy(PolicyIn):
    policy_id: str
    created_by: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    policy_id: str | None = None


async def add_policy(pool: asyncpg.Pool | asyncpg.Connection, policy: PolicyIn, created_by: str) -> Policy:
    policy_id = "pol-" + uuid.uuid4().hex[:16]
    await pool.execute(
        """INSERT INTO sharing_policies (policy_id, flow, from_org, to_org, legal_basis, agreement_ref, purpose,
                                         data_categories, requires_consent, valid_from, valid_until, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        policy_id, policy.flow, policy.from_org, policy.to_org, policy.legal_basis, policy.agreement_ref,
        policy.purpose, policy.data_categories, policy.requires_consent, policy.valid_from, policy.valid_until,
        created_by)
    return Policy(policy_id=policy_id, created_by=created_by, **policy.model_dump())


async def list_policies(pool: asyncpg.Pool) -> list[Policy]:
    rows = await pool.fetch("SELECT * FROM sharing_policies ORDER BY created_at, policy_id")
    return [Policy(**{k: r[k] for k in Policy.model_fields}) for r in rows]


async def end_policy(pool: asyncpg.Pool | asyncpg.Connection, policy_id: str, on: date) -> bool:
    """A policy is ended, not deleted: what was shared under it stays explainable."""
    done = await pool.execute(
        "UPDATE sharing_policies SET valid_until = $2 WHERE policy_id = $1 "
        "AND (valid_until IS NULL OR valid_until > $2) AND valid_from <= $2", policy_id, on)
    return done.endswith(" 1")


async def policy_exists(pool: asyncpg.Pool | asyncpg.Connection, policy_id: str) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM sharing_policies WHERE policy_id = $1", policy_id))


async def check(pool: asyncpg.Pool | asyncpg.Connection, flow: str, from_org: str, to_org: str, on: date,
                case_id: str | None = None) -> Decision:
    row = await pool.fetchrow(
        """SELECT policy_id, purpose, requires_consent FROM sharing_policies
           WHERE flow = $1 AND to_org IN ($2, '*') AND from_org IN ($3, '*') AND valid_from <= $4
             AND (valid_until IS NULL OR valid_until >= $4)
           ORDER BY (from_org = $3) DESC, (to_org = $2) DESC, valid_from DESC LIMIT 1""", flow, to_org, from_org, on)
    if row is None:
        return Decision(False, f"No valid data-sharing policy for flow '{flow}' from {from_org} to {to_org} on {on}: "
                               "nothing is shared until an administrator records one.")
    if row["requires_consent"] and case_id is not None:
        given = await pool.fetchval(
            "SELECT given FROM consents WHERE case_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
            case_id, row["purpose"])
        if given is not True:
            state = "was withdrawn" if given is False else "has not been recorded"
            return Decision(False, f"Consent for purpose '{row['purpose']}' {state} for this case; "
                                   f"policy {row['policy_id']} requires it.", row["policy_id"])
    return Decision(True, "shared under policy " + row["policy_id"], row["policy_id"])


DEMO = [
    PolicyIn(flow=FBU_CLAIM, from_org="*", to_org="wonen-vlaanderen",
             legal_basis="DEMO: decree on the eviction-prevention fund (FBU)",
             agreement_ref="DEMO — not a real agreement",
             purpose="fbu-claim", data_categories=["arrears", "agreement_dates", "rule_set", "ocmw"],
             valid_from=date(2020, 6, 1)),
    PolicyIn(flow=PAYMENT_SIGNAL, from_org="*", to_org="*", legal_basis="DEMO: Energiebesluit, social public service",
             agreement_ref="DEMO — not a real agreement", purpose="early-detection",
             data_categories=["municipality", "energy", "payment_problem"], valid_from=date(2022, 7, 1)),
]


async def seed_demo(pool: asyncpg.Pool | asyncpg.Connection) -> int:
    """For a developer's machine only: demo policies so the flows can be tried; marked DEMO everywhere."""
    if await pool.fetchval("SELECT count(*) FROM sharing_policies"):
        return 0
    for policy in DEMO:
        await add_policy(pool, policy, "vangnet dev (demo)")
    return len(DEMO)
