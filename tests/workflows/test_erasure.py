"""Personal data at rest is sealed per data subject; erasing a subject leaves the record but not the person."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver, ok
from vangnet.security.vault import erase
from vangnet.services import retention


async def subjects_of_case(pool: Any, case_id: str) -> list[str]:
    return [s.subject_id for s in await retention.subjects(pool, case_id=case_id, include_erased=True)]


async def test_parties_are_sealed_at_rest(stack: Stack) -> None:
    d = Driver(stack)
    case_id = await d.open()
    row = await stack.pool.fetchrow("SELECT * FROM fbu_parties WHERE case_id = $1", case_id)
    raw = b"".join(bytes(v) if isinstance(v, bytes | bytearray | memoryview) else str(v).encode()
                   for v in dict(row).values() if v is not None)
    for secret in (b"Janssens", b"85073003328", b"BE71096123456769", b"Sint-Pietersnieuwstraat", b"Immo De Smet"):
        assert secret not in raw
    assert len(await subjects_of_case(stack.pool, case_id)) == 2  # tenant and landlord are separate subjects


async def test_erasing_a_case_keeps_its_events_and_amounts_but_not_the_person(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    await eventually(lambda: d.claim(case_id, "initial"))
    events_before = await d.event_types(case_id)
    for subject in await subjects_of_case(stack.pool, case_id):
        assert await erase(stack.pool, subject)
        assert not await erase(stack.pool, subject)  # erasing twice changes nothing
    parties = await ok(await d.api.get(f"/v1/fbu/cases/{case_id}/parties", headers=d.ocmw))
    assert parties["tenant"]["name"] == "erased" and parties["landlord"]["iban"] == "erased"
    assert parties["dwelling_address"] == "erased"
    assert await d.event_types(case_id) == events_before
    case = await d.case(case_id)
    assert case["arrears_amount"] == "2400.00" and case["payouts"][0]["amount"] == "422.00"
    pdf = await d.api.get(f"/v1/fbu/cases/{case_id}/documents/agreement", headers=d.ocmw)
    assert pdf.status_code == 200  # the document still renders, without the person
    keys = await stack.pool.fetch("SELECT wrapped_key, erased_at FROM subject_keys WHERE subject_id = ANY($1)",
                                  await subjects_of_case(stack.pool, case_id))
    assert all(k["wrapped_key"] is None and k["erased_at"] is not None for k in keys)


async def test_erasing_an_energy_household(stack: Stack) -> None:
    e = EnergyDriver(stack)
    case_id, _ = await e.open("gas")
    (subject,) = await subjects_of_case(stack.pool, case_id)
    await erase(stack.pool, subject)
    household = await ok(await e.api.get(f"/v1/energy/cases/{case_id}/household", headers=e.ocmw))
    assert household == {"name": "erased", "national_number": "erased", "address": "erased"}
    assert (await e.case(case_id))["phase"] == "notice_period"


def test_erase_command_needs_exactly_one_target() -> None:
    env = {**os.environ, "VANGNET_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    both = subprocess.run([sys.executable, "-m", "vangnet.cli", "erase", "--subject", "s", "--case", "c"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert both.returncode != 0 and "exactly one" in both.stderr and "Traceback" not in both.stderr


async def test_erase_command_on_a_real_database(pg_root: str) -> None:
    import asyncpg

    from tests.conftest import create_database
    from vangnet.security.codec import new_key
    from vangnet.security.vault import Vault

    dsn = await create_database(pg_root)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO case_registry (case_id, kind, ocmw_id) VALUES ('fbu-x', 'fbu', 'ocmw-44021')")
        vault = Vault({"m": __import__("base64").b64decode(new_key())}, "m")
        t_subject, t_sealed = await vault.seal(conn, {"name": "A", "address": "B"})
        l_subject, l_sealed = await vault.seal(conn, {"name": "C"})
        await conn.execute("INSERT INTO fbu_parties (case_id, tenant_subject, landlord_subject, tenant_sealed, "
                           "landlord_sealed) VALUES ('fbu-x', $1, $2, $3, $4)",
                           t_subject, l_subject, t_sealed, l_sealed)
    finally:
        await conn.close()
    env = {**os.environ, "VANGNET_DATABASE_URL": dsn}
    run = subprocess.run([sys.executable, "-m", "vangnet.cli", "erase", "--case", "fbu-x"],  # noqa: ASYNC221
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert sorted(__import__("json").loads(run.stdout)["erased"]) == sorted([t_subject, l_subject])
    conn = await asyncpg.connect(dsn)
    try:  # the erasure is in the legal record: one event per subject, with the reason and no personal data
        events = await conn.fetch("SELECT stream, type, data::text AS data FROM domain_events ORDER BY position")
    finally:
        await conn.close()
    assert sorted((e["stream"], e["type"]) for e in events) == sorted(
        (f"erasure:{s}", "PersonalDataErased") for s in (t_subject, l_subject))
    data = [__import__("json").loads(e["data"]) for e in events]
    assert sorted(d["party"] for d in data) == ["landlord", "tenant"]
    assert all(set(d) == {"subject_id", "party", "reason", "via"} and d["reason"] == "request" for d in data)
    again = subprocess.run([sys.executable, "-m", "vangnet.cli", "erase", "--case", "fbu-x"],  # noqa: ASYNC221
                           capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0 and __import__("json").loads(again.stdout)["erased"] == []
    missing = subprocess.run([sys.executable, "-m", "vangnet.cli", "erase", "--case", "fbu-none"],  # noqa: ASYNC221
                             capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 1 and "no personal data found" in missing.stderr
