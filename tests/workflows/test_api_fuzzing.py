"""Property-based fuzzing of the whole HTTP API from its OpenAPI document: the document tells the truth.

Schemathesis (the ``st run`` CLI, as an asyncio subprocess so the API keeps serving in this event loop) generates
valid and invalid requests for every operation of ``/openapi.json``, once per caller: each role with a token,
and no token at all, in all four phases (examples, coverage, fuzzing, and stateful along the document's links)
with ``--checks all``, none excluded: no 5xx, every status and content type documented, every answer valid against
its schema, schema-valid requests accepted (or refused with a documented business status: 401/403/404/409), schema-
invalid ones refused, the ``Allow`` header of a 405 as documented. The schema is as strict as the validators; what
no schema can state (a rule between fields, a payload that does not decrypt) is a documented 422 with its own code
(``RULES_422``), accepted for a schema-valid request only on the operations that list that code, and only with it:
the test reads each such answer's code from the NDJSON report (``check_rule_refusal``). Formats whose check digits
no pattern can express (``iban``, ``be-national-number``, ``ean18``) get valid values from
``tests/workflows/fuzz_formats.py``.

The stack is this module's own: its own time-skipping server and database, because the fuzzing opens cases and
starts workflows that must not load the shared session stack. Path parameters are drawn half of the time from
the ids of a few real cases, claims and a policy, and checksummed body fields (national number, IBAN, EAN) and
the caller's own municipality mostly from valid values (schemathesis dictionaries), so the fuzzing also reaches
past the 404 of an unknown id and the 422 of a bad checksum into the steps themselves. Afterwards every case and
claim workflow must still answer a query: an accepted input that breaks a workflow (its task failing forever)
fails the test even when no response was 5xx.

The tests after the fuzzing are the regressions of what it found (and of what probing around it found).

Knobs (environment): ``VANGNET_FUZZ_SEED`` (default fixed, so a run is reproducible; a failure prints its seed),
``VANGNET_FUZZ_EXAMPLES`` (examples per operation and caller), ``VANGNET_FUZZ_DIR`` (keep each caller's output
and NDJSON report there instead of in pytest's temporary directory). Nothing is written into the repository: the
configuration, reports and schemathesis' example database live in a temporary directory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.problems import CODES, ErrorCode
from tests.conftest import Stack, eventually, make_stack, time_skipping_server
from tests.energy_helpers import EnergyDriver
from tests.energy_helpers import open_body as energy_open_body
from tests.fbu_helpers import OCMW, Driver, agreement_body, workflow_exists
from vangnet.platform.settings import Settings

ST = Path(sys.executable).with_name("st")
ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("VANGNET_FUZZ_SEED", "20261123"))
MAX_EXAMPLES = int(os.environ.get("VANGNET_FUZZ_EXAMPLES", "12"))
RUN_TIMEOUT = 300.0  # seconds for one caller's run: a hang fails the test instead of blocking the suite
PARALLEL = 2  # schemathesis processes at a time (one worker thread each, see run_caller)
QUERY_WITHIN = 5.0  # seconds for a workflow to answer its state query after the fuzzing

#: caller -> (role, organisation); None = no token.
CALLERS: dict[str, tuple[str, str | None] | None] = {
    "ocmw": ("ocmw", OCMW),
    "ocmw-coordinator": ("ocmw-coordinator", OCMW),
    "wonen-vlaanderen": ("wonen-vlaanderen", None),
    "netbeheerder": ("netbeheerder", "fluvius"),
    "auditor": ("auditor", None),
    "no-token": None,
    "admin": ("admin", None),  # last: the policies it records may change what the other callers are shown
}



# ---- this module's own stack --------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server: the workflows the fuzzing starts never load the shared one."""
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_stack(ts_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Stack]:
    """A worker and the API over real HTTP on this module's server and database (``pool`` is per module)."""
    from vangnet.security.sharing import seed_demo

    await seed_demo(pool)
    # No write rate limit to speak of: a caller's thousand-odd writes would otherwise mostly answer 429 and leave
    # the routes behind the limiter untested (the limiter has its own tests in test_limits.py).
    async with make_stack(ts_env, pool, settings, writes_per_minute=1_000_000) as s:
        yield s


@dataclass
class Known:
    """Ids of real objects, offered to the fuzzer as path parameters: cases in several states, a claim, a policy."""

    ids: list[str] = field(default_factory=list)
    eans: list[str] = field(default_factory=list)


async def known_objects(stack: Stack) -> Known:
    known = Known()
    fbu = Driver(stack)
    for _ in range(2):  # two, so that one fuzzed "close" or "refuse" does not leave only ended cases
        case_id, _ = await fbu.in_force_case()
        claim = await eventually(lambda case_id=case_id: fbu.claim(case_id, "initial"))
        known.ids += [case_id, str(claim["claim_id"])]
    known.ids.append(await fbu.open())  # no agreement yet
    energy = EnergyDriver(stack)
    for _ in range(2):
        case_id, ean_code = await energy.open()
        known.ids.append(case_id)
        known.eans.append(ean_code)
    known.eans += [energy.new_ean() for _ in range(3)]  # valid, without a case
    admin = stack.token("admin")
    policy = (await stack.api.get("/v1/admin/sharing-policies", headers=admin)).json()[0]
    body = {k: policy[k] for k in ("flow", "legal_basis", "agreement_ref", "purpose", "data_categories",
                                   "requires_consent", "valid_from")}
    # A policy of its own for the fuzzer to end; the demo policies the claims are shared under keep their ids unknown.
    created = await stack.api.post("/v1/admin/sharing-policies", headers=admin,
                                   json={**body, "from_org": "ocmw-fuzz", "to_org": "fuzz"})
    assert created.status_code == 201, created.text
    known.ids.append(str(created.json()["policy_id"]))
    return known


# ---- one schemathesis run per caller ----------------------------------------------------------------------------

#: Valid values for fields that random strings almost never satisfy (checksums, the caller's own organisation),
#: drawn 70% of the time so that bodies get past validation into the steps; the rest stays random.
BODY_VALUES: dict[str, list[str]] = {
    "national_number": ["85.07.30-033.28"],
    "iban": ["BE71 0961 2345 6769", "BE68539007547034"],
    "municipality_nis": ["44021"],
    "netbeheerder": ["fluvius"],
}
BODY_FIELDS = {
    "national_number": ["tenant.national_number", "household.national_number"],
    "iban": ["tenant.iban", "landlord.iban"],
    "municipality_nis": ["dwelling.municipality_nis", "household.municipality_nis"],
    "netbeheerder": ["netbeheerder"],
    "ean": ["ean"],
}


#: 422 refusals that are documented business rules, not breaches of the schema: rules between fields that no schema
#: can state (``inconsistent_fields``), a payload that claims Vangnet's encryption but does not decrypt
#: (``undecodable_payload``). Every other 422 (``invalid_input``) means the request broke the schema.
RULES_422 = frozenset(c.value for c, info in CODES.items() if info.status == 422 and c is not ErrorCode.INVALID_INPUT)
#: schemathesis' default statuses for a schema-valid request (4.32), to which an operation documenting one of
#: RULES_422 adds 422; test_no_operation_answers_5xx_to_any_caller then checks each such 422 carries one of them.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def rule_operations(schema: dict[str, Any]) -> dict[str, set[str]]:
    """"METHOD /path" -> the RULES_422 codes the operation documents (``x-error-codes``), for those that have any."""
    found = {f"{method.upper()} {path}": set(RULES_422 & set(op.get("x-error-codes", [])))
             for path, ops in schema["paths"].items() for method, op in ops.items()}
    return {label: codes for label, codes in found.items() if codes}


def config_toml(known: Known, rules: dict[str, set[str]]) -> str:
    dictionaries = {"known": known.ids, "ean": known.eans, **BODY_VALUES}
    lines = ["[generation]", 'database = "none"', ""]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [f'"path.{p}" = {{ dictionary = "known", probability = 0.5 }}' for p in ("case_id", "claim_id",
                                                                                        "policy_id")]
    lines += [f'"body.{f}" = {{ dictionary = "{name}", probability = 0.7 }}'
              for name, fields in BODY_FIELDS.items() for f in fields]
    lines += [
        "",
        "# The time-skipping test server does not implement DescribeTaskQueue, so /healthz reads the worker as",
        '# "down" and answers 503 on this stack (200 on a real server); test_healthz_is_degraded_only_by_the_',
        "# test_server checks that this is the only reason.",
        "[[operations]]",
        'include-path = "/healthz"',
        'checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]',
        "",
        "# A schema-valid request may still break a documented rule the schema cannot state (RULES_422): 422 is",
        "# accepted for it on the operations that document such a rule, and nowhere else.",
    ]
    for label in sorted(rules):
        method, path = label.split(" ", 1)
        lines += ["[[operations]]", f"include-path = {json.dumps(path)}", f'include-method = "{method}"',
                  f"checks.positive_data_acceptance.expected-statuses = {json.dumps([*POSITIVE_STATUSES, '422'])}",
                  ""]
    return "\n".join(lines) + "\n"


@dataclass
class RunResult:
    caller: str
    returncode: int
    output: str
    seconds: float
    operations: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # unexpected 5xx: operation, request, answer
    healthz_503: int = 0  # expected on this stack, see config_toml
    rule_refusals: Counter[str] = field(default_factory=Counter)  # 422 to a schema-valid request, by code
    wrong_refusals: list[str] = field(default_factory=list)  # ... with a code its operation does not document

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def report(self) -> str:
        """Schemathesis' failures and errors (operation, check, answer, a curl command to reproduce)."""
        found = re.search(r"^=+ (?:FAILURES|ERRORS) =+$.*?(?=^=+ (?:WARNINGS|SUMMARY) =+$)", self.output,
                          re.MULTILINE | re.DOTALL)
        return found.group(0) if found else self.output[-20000:]


def problem_code(response: dict[str, Any]) -> str | None:
    """The ``code`` of a problem answer as schemathesis recorded it (base64), or None."""
    content = (response.get("content") or {}).get("$base64")
    try:
        return str(json.loads(base64.b64decode(content))["code"]) if content else None
    except (ValueError, KeyError, TypeError):
        return None


def check_rule_refusal(result: RunResult, rules: dict[str, set[str]], case: dict[str, Any],
                       response: dict[str, Any]) -> None:
    """A 422 to a schema-valid request is allowed (config_toml) only with a rule code its operation documents."""
    value = case.get("value", {})
    if response.get("status_code") != 422 or value.get("meta", {}).get("generation", {}).get("mode") != "positive":
        return
    label = f"{value.get('method', '').upper()} {value.get('path', '')}"
    code = problem_code(response)
    if label in rules and code in rules[label]:
        result.rule_refusals[str(code)] += 1
    elif label in rules:  # elsewhere schemathesis' own check fails the run
        result.wrong_refusals.append(f"{label}: a schema-valid request refused with 422 {code} ({value.get('id')})")


def read_report(result: RunResult, path: Path, rules: dict[str, set[str]]) -> None:
    """Operations tested, response statuses, 5xx answers and the codes of 422 answers to schema-valid requests
    from schemathesis' NDJSON event stream."""
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        event = json.loads(line)
        for name, body in event.items():
            if name == "ScenarioFinished":
                label = body.get("label") or body.get("recorder", {}).get("label")
                if label:
                    result.operations.add(label)
                cases = body.get("recorder", {}).get("cases", {})
                for case_id, interaction in body.get("recorder", {}).get("interactions", {}).items():
                    check_rule_refusal(result, rules, cases.get(case_id, {}), interaction.get("response") or {})
                    response = interaction.get("response") or {}
                    status = response.get("status_code")
                    if status is None:
                        continue
                    result.statuses[int(status)] += 1
                    if int(status) == 503 and label == "GET /healthz":
                        result.healthz_503 += 1
                    elif int(status) >= 500:
                        request = interaction.get("request", {})
                        result.server_errors.append(
                            f"{label}: {request.get('method')} {request.get('uri')} -> {status}")


async def run_caller(stack: Stack, caller: str, known: Known, rules: dict[str, set[str]], workdir: Path
                     ) -> RunResult:
    who = CALLERS[caller]
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(config_toml(known, rules))
    report = workdir / "events.ndjson"
    args = [
        "--config-file", str(config), "run", f"{stack.url}/openapi.json",
        # Every check, positive_data_acceptance and negative_data_rejection included (issue #12): the only allowance
        # is the documented 422 of RULES_422 on the operations that list it (config_toml, check_rule_refusal).
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        # One worker thread per process: with several, Hypothesis' lambda descriptions call ast.parse from two
        # threads at once, which CPython 3.11 answers with "SystemError: AST constructor recursion depth
        # mismatch" (gh-106905), a tool error that fails the run. Two processes at a time instead (PARALLEL).
        "--workers", "1",
        "--request-timeout", "30",
        "--no-shrink",
        "--no-color",
        "--output-truncate", "false",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]
    if who is not None:
        role, org = who
        args += ["--header", f"Authorization: {stack.token(role, org)['Authorization']}"]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(ST), *args, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "SCHEMATHESIS_HOOKS": "tests.workflows.fuzz_formats",
             "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        raise AssertionError(f"schemathesis run for {caller} did not finish in {RUN_TIMEOUT:.0f} s:\n"
                             f"{out.decode(errors='replace')[-5000:]}") from None
    result = RunResult(caller=caller, returncode=process.returncode or 0, output=out.decode(errors="replace"),
                       seconds=time.monotonic() - started)
    (workdir / "output.txt").write_text(result.output)
    read_report(result, report, rules)
    return result


# ---- the tests -------------------------------------------------------------------------------------------------


def expected_operations(schema: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}


async def unanswering_workflows(stack: Stack) -> tuple[int, dict[str, str]]:
    """How many workflows of this module's cases and claims were checked, and those that no longer answer a query
    with the reason their workflow task fails: an input the API accepted that the workflow cannot handle (its
    requests hang, its case is stuck)."""
    cases = [r[0] for r in await stack.pool.fetch("SELECT case_id FROM case_registry")]
    claims = {r[0] for r in await stack.pool.fetch("SELECT claim_id FROM proj_claims")}
    ids = [*cases, *claims]
    client, gate = stack.env.client, asyncio.Semaphore(16)

    async def check(workflow_id: str) -> tuple[str, str] | None:
        handle = client.get_workflow_handle(workflow_id)
        async with gate:
            if workflow_id in claims and not await workflow_exists(client, workflow_id):
                return None  # submitted by its case and never decided: no workflow yet, so nothing that can break
            try:
                await asyncio.wait_for(handle.query("state"), timeout=QUERY_WITHIN)
                return None
            except Exception as exc:
                reason = f"query failed: {type(exc).__name__} {exc}"
            for event in reversed((await handle.fetch_history()).events):
                if event.HasField("workflow_task_failed_event_attributes"):
                    failure = await client.data_converter.decode_failure(
                        event.workflow_task_failed_event_attributes.failure)
                    reason = f"workflow task fails: {type(failure).__name__}: {failure}"
                    break
            return workflow_id, reason

    return len(ids), dict(found for found in await asyncio.gather(*(check(i) for i in ids)) if found)


async def test_no_operation_answers_5xx_to_any_caller(fuzz_stack: Stack, tmp_path: Path) -> None:
    started = time.monotonic()
    known = await known_objects(fuzz_stack)
    async with httpx.AsyncClient() as http:
        schema = (await http.get(f"{fuzz_stack.url}/openapi.json")).json()
    operations = expected_operations(schema)
    rules = rule_operations(schema)
    workdir = Path(os.environ.get("VANGNET_FUZZ_DIR") or tmp_path)
    gate = asyncio.Semaphore(PARALLEL)

    async def run(caller: str) -> RunResult:
        async with gate:
            return await run_caller(fuzz_stack, caller, known, rules, workdir / caller)

    results = await asyncio.gather(*(run(caller) for caller in CALLERS))

    print(f"\nAPI fuzzing (seed {SEED}, up to {MAX_EXAMPLES} examples per operation and phase, "
          f"{PARALLEL} callers at a time):")
    for r in results:
        print(f"  {r.caller:17} {len(r.operations):3} operations {r.requests:6} requests "
              f"{len(r.server_errors):3} 5xx {r.seconds:5.1f} s  {dict(sorted(r.statuses.items()))}")
    refusals = sum((r.rule_refusals for r in results), Counter[str]())
    print(f"  schema-valid requests refused by a documented rule (422): {dict(sorted(refusals.items()))} on "
          f"{sorted(rules)}")
    print(f"  {len(operations)} operations x {len(results)} callers, {sum(r.requests for r in results)} requests, "
          f"{sum(len(r.server_errors) for r in results)} 5xx (+{sum(r.healthz_503 for r in results)} expected 503 "
          f"of /healthz), {time.monotonic() - started:.1f} s")

    checked, broken = await unanswering_workflows(fuzz_stack)
    print(f"  afterwards {checked} case and claim workflows queried, {len(broken)} not answering")
    failures = [f"==== {len(broken)} workflow(s) broken by an input the API accepted (find the request that created "
                "or stepped them in the callers' NDJSON reports, kept with VANGNET_FUZZ_DIR):\n"
                + "\n".join(f"  {i}: {why}" for i, why in sorted(broken.items()))] if broken else []
    for r in results:
        missing = operations - r.operations
        if r.returncode != 0 or r.server_errors or missing or r.wrong_refusals:
            who = CALLERS[r.caller]
            token = "no token" if who is None else f"role {who[0]}" + (f", org {who[1]}" if who[1] else "")
            failures.append(
                f"==== caller {r.caller} ({token}): "
                f"exit status {r.returncode}"
                + (f"; operations not exercised: {sorted(missing)}" if missing else "")
                + "".join(f"\n  5xx: {e}" for e in r.server_errors[:20])
                + "".join(f"\n  undocumented 422: {e}" for e in r.wrong_refusals[:20]) + "\n" + r.report())
    assert not failures, (
        f"Reproduce with VANGNET_FUZZ_SEED={SEED} (the curl commands show the token as [Filtered]: use "
        "`vangnet token --role ROLE --org ORG` against a dev stack)\n\n" + "\n\n".join(failures))


def test_a_schema_valid_request_refused_as_invalid_input_fails_the_run() -> None:
    """The 422 allowed on operations with a documented rule is allowed with that rule's code only."""
    rules = {"POST /v1/admin/sharing-policies": {"inconsistent_fields"}}

    def seen(code: str, mode: str = "positive", label: str = "POST /v1/admin/sharing-policies") -> RunResult:
        method, path = label.split(" ", 1)
        result = RunResult(caller="admin", returncode=0, output="", seconds=0.0)
        content = base64.b64encode(json.dumps({"code": code}).encode()).decode()
        check_rule_refusal(result, rules, {"value": {"id": "x", "method": method, "path": path,
                                                     "meta": {"generation": {"mode": mode}}}},
                           {"status_code": 422, "content": {"$base64": content}})
        return result

    assert seen("inconsistent_fields").rule_refusals == Counter({"inconsistent_fields": 1})
    assert seen("invalid_input").wrong_refusals and seen("undecodable_payload").wrong_refusals
    assert not seen("invalid_input", mode="negative").wrong_refusals  # a schema-invalid request may get it
    assert not seen("invalid_input", label="PUT /v1/fbu/cases/{case_id}/agreement").wrong_refusals  # st's own check


async def test_healthz_is_degraded_only_by_the_test_server(fuzz_stack: Stack) -> None:
    """The fuzzing accepts 503 from /healthz; here is why that hides nothing: on this stack, for every caller, the
    only probe that fails is the worker's (DescribeTaskQueue, which the time-skipping test server lacks)."""
    async with httpx.AsyncClient(base_url=fuzz_stack.url) as http:
        for who in CALLERS.values():
            headers = {} if who is None else fuzz_stack.token(*who)
            r = await http.get("/healthz", headers=headers)
            assert (r.status_code, r.json()) in (
                (200, {"status": "ok", "temporal": "ok", "postgres": "ok", "worker": "ok"}),
                (503, {"status": "degraded", "temporal": "ok", "postgres": "ok", "worker": "down"}),
            ), r.text


# ---- regressions found by the fuzzing ------------------------------------------------------------------------


async def test_energy_case_with_a_notice_date_no_rule_set_covers_is_refused(fuzz_stack: Stack) -> None:
    """Found by the fuzzing: a notice of default dated 0818-03-01 was accepted; the workflow found no energy rule
    set for it and failed its first task forever, so the request hung (the client timed out, queries on the case
    answered 503) and the connection point stayed blocked by a case that never opened."""
    energy = EnergyDriver(fuzz_stack)
    code = energy.new_ean()
    r = await fuzz_stack.api.post("/v1/energy/cases", json=energy_open_body(code, notice=date(818, 3, 1)),
                                  headers=energy.ocmw)
    assert r.status_code == 409 and r.json()["code"] == "no_rule_set", r.text
    assert r.json()["detail"].startswith("No energy rule set covers a notice of default on 0818-03-01"), r.text
    assert await fuzz_stack.pool.fetchval("SELECT count(*) FROM energy_cases WHERE ean = $1", code) == 0
    await energy.open(ean_code=code)  # the connection point is still free


async def test_nul_characters_are_refused_with_422_not_stored(fuzz_stack: Stack) -> None:
    """Found by the fuzzing (a policy's legal_basis with U+0000 answered 500) and then probed route by route:
    PostgreSQL's text and jsonb cannot hold NUL, so a NUL in a path parameter or query (%00) answered 500 on every
    route that looks something up, and one in a step's free text (a claim decision's reason, an energy case's
    supplier) reached a domain event whose append retried forever: the request hung and the case was stuck."""
    fbu = Driver(fuzz_stack)
    case_id = await fbu.open()
    admin, auditor = fuzz_stack.token("admin"), fuzz_stack.token("auditor")
    energy = EnergyDriver(fuzz_stack)
    nul = "a\x00bc"
    for method, url, headers in (("GET", "/v1/fbu/cases/fbu-x%00", fbu.ocmw), ("GET", "/v1/claims/x%00", fbu.wv),
                                 ("POST", "/v1/admin/sharing-policies/p%00/end", admin),
                                 ("GET", "/v1/audit/access?case=%00", auditor)):
        r = await fuzz_stack.api.request(method, url, headers=headers)
        assert r.status_code == 422 and "NUL" in r.json()["detail"], (url, r.text)
    policy = {"flow": "netbeheerder-to-ocmw:payment-signal", "from_org": "*", "to_org": "ocmw-44021",
              "legal_basis": nul, "agreement_ref": "abc", "purpose": "abc", "data_categories": ["x"],
              "valid_from": "2026-01-01"}
    for url, body, headers, field_name in (
        (f"/v1/cases/{case_id}/consents", {"purpose": "fbu-claim", "given": True, "note": nul}, fbu.ocmw, "note"),
        (f"/v1/fbu/cases/{case_id}/stable-housing", {"reason": nul}, fbu.ocmw, "reason"),
        ("/v1/claims/clm-x/decision", {"decision": "reject", "reason": nul}, fbu.wv, "reason"),
        ("/v1/energy/cases", {**energy_open_body(energy.new_ean()), "supplier": nul}, energy.ocmw, "supplier"),
        ("/v1/admin/sharing-policies", policy, admin, "legal_basis"),
    ):
        r = await fuzz_stack.api.post(url, json=body, headers=headers)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"] == [{"field": field_name, "message": "must not contain the NUL character (U+0000)"}]
    assert await fuzz_stack.pool.fetchval("SELECT count(*) FROM consents WHERE case_id = $1", case_id) == 0


async def test_a_plan_that_cannot_be_followed_is_refused_when_drafted(fuzz_stack: Stack) -> None:
    """Found by probing the date bounds the fuzzer draws from: a plan instalment due 9999-12-31 was accepted; the
    last signature put the agreement in force, its grace period overflowed the date range, the workflow task
    failed forever and the case was stuck (the signature request hung, reading the case too)."""
    fbu = Driver(fuzz_stack)
    case_id = await fbu.open()
    for due in ("9999-12-31", "2050-01-01"):
        body = {"landlord_payment": "400.00", "plan": [{"due_on": due, "amount": "2000.00"}]}
        r = await fuzz_stack.api.put(f"/v1/fbu/cases/{case_id}/agreement", json=body, headers=fbu.ocmw)
        assert r.status_code == 409 and r.json()["code"] == "invalid_for_case", r.text
        assert r.json()["detail"].startswith(f"The last instalment is due {due}; a repayment plan must end"), r.text
    await fbu.draft(case_id, agreement_body(Decimal("2400.00"), Decimal("400.00"), 120, await fbu.today()))
    await fbu.sign_all(case_id)
    assert (await fbu.case(case_id))["status"] == "in_force"
