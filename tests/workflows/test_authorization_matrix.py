"""The authorisation matrix: every route of the JSON API × every role × own/other organisation.

For each route the table ``EXPECTATIONS`` says which status each caller gets. The product's rules:
- no token answers 401, a token with a role the route does not serve answers 403 (decided before any lookup);
- another organisation's case or claim answers 404, never 403, so case ids cannot be probed;
- public routes (health, metrics, the identity provider's keys) answer everyone alike, and the netbeheerder
  callback is authenticated by its HMAC signature, not by a bearer token: unsigned is 401 for everyone;
- no response carries the fixtures' personal data (names, national number, IBANs, addresses) unless the route
  is meant to show it to the owning OCMW (no JSON route is, today), and no response names a case, claim or
  connection point of an organisation the caller may not see (a netbeheerder never sees FBU data, another OCMW
  none of ours, Wonen-Vlaanderen nothing of energy cases).

A route of the app that has no row here fails the test: add its expectations (and a request) below.
The web application's routes (``api.web``: its pages, form posts and the ``/static`` mount) are not rows here:
they answer to a session cookie, not a bearer token, and have their own matrix with the same principals in
tests/web/test_web_authorization.py, which checks that exactly the routes ``is_web_route`` leaves out of this
one are its rows. Between the two, every route of the app has expectations.
The matrix is printed as a table in the test output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from pydantic import SecretStr

import api.web
from api.app import create_app
from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver, callback
from tests.energy_helpers import open_body as energy_open_body
from tests.fbu_helpers import OCMW, OTHER_OCMW, Driver, agreement_body, open_body
from vangnet.security import sharing

# ---- who calls ----------------------------------------------------------------------------------------------

NETBEHEERDER, OTHER_NETBEHEERDER = "fluvius", "eandis-test"
#: column key -> (role, organisation); None is a request without a token.
PRINCIPALS: dict[str, tuple[str, str | None] | None] = {
    "ocmw": ("ocmw", OCMW),
    "ocmw-other": ("ocmw", OTHER_OCMW),
    "coordinator": ("ocmw-coordinator", OCMW),
    "wonen-vl": ("wonen-vlaanderen", None),
    "nb": ("netbeheerder", NETBEHEERDER),
    "nb-other": ("netbeheerder", OTHER_NETBEHEERDER),
    "auditor": ("auditor", None),
    "admin": ("admin", None),
    "anon": None,
}
COLUMNS = tuple(PRINCIPALS)

# ---- what each caller gets --------------------------------------------------------------------------------
# Columns, in order: ocmw (own org ocmw-44021) | ocmw-other (ocmw-11002) | coordinator (ocmw-44021) |
# wonen-vl | nb (fluvius, the fixtures' netbeheerder) | nb-other (eandis-test) | auditor | admin | anon (no token).

PUBLIC = (200,) * 9
OCMW_CASE = (200, 404, 403, 403, 403, 403, 403, 403, 401)  # an OCMW's own case; another OCMW's is 404
OCMW_CASE_409 = (409, 404, 403, 403, 403, 403, 403, 403, 401)  # allowed, but the step does not fit the state
OCMW_OWN_LIST = (200, 200, 403, 403, 403, 403, 403, 403, 401)  # each OCMW sees (only) its own
WV_ONLY = (403, 403, 403, 200, 403, 403, 403, 403, 401)
ENERGY_READ = (200, 404, 403, 403, 200, 404, 403, 403, 401)  # the case's OCMW and its netbeheerder
ADMIN_ONLY = (403, 403, 403, 403, 403, 403, 403, 200, 401)
REPORTS = (403, 403, 200, 403, 403, 403, 200, 403, 401)  # coordinator (own organisation) and auditor

EXPECTATIONS: dict[tuple[str, str], tuple[int, ...]] = {
    # platform
    # 503 for everyone on this stack: the time-skipping test server does not implement DescribeTaskQueue, so the
    # worker probe reads "down" (200 on a real server). What matters here: the same answer, with or without a token.
    ("GET", "/healthz"): (503,) * 9,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/idp/.well-known/jwks.json"): PUBLIC,
    ("POST", "/codec/decode"): ADMIN_ONLY,
    ("POST", "/codec/encode"): ADMIN_ONLY,
    # the browser sign-in for the Temporal UI: a page for everyone, a login cookie only for administrators
    ("GET", "/codec/login"): PUBLIC,
    ("POST", "/codec/login"): (403, 403, 403, 403, 403, 403, 403, 303, 401),
    ("POST", "/codec/logout"): (303,) * 9,
    ("GET", "/v1/audit/access"): (403, 403, 403, 403, 403, 403, 200, 403, 401),
    # aggregates without personal data: the coordinator its own organisation, the auditor every organisation
    ("GET", "/v1/reports/fbu"): REPORTS,
    ("GET", "/v1/reports/energy"): REPORTS,
    # data-sharing policies: administrators; consent: the OCMW that owns the case (FBU or energy)
    ("GET", "/v1/admin/sharing-policies"): ADMIN_ONLY,
    ("POST", "/v1/admin/sharing-policies"): (403, 403, 403, 403, 403, 403, 403, 201, 401),
    ("POST", "/v1/admin/sharing-policies/{policy_id}/end"): ADMIN_ONLY,
    ("POST", "/v1/cases/{case_id}/consents"): (201, 404, 403, 403, 403, 403, 403, 403, 401),
    ("GET", "/v1/cases/{case_id}/consents"): OCMW_CASE,
    # FBU cases: the OCMW only, its own cases only
    ("POST", "/v1/fbu/cases"): (201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("GET", "/v1/fbu/cases"): OCMW_OWN_LIST,
    ("GET", "/v1/fbu/cases/{case_id}"): OCMW_CASE,
    ("GET", "/v1/fbu/cases/{case_id}/events"): OCMW_CASE,
    ("GET", "/v1/fbu/cases/{case_id}/parties"): OCMW_CASE,
    ("PUT", "/v1/fbu/cases/{case_id}/agreement"): OCMW_CASE,
    ("POST", "/v1/fbu/cases/{case_id}/signatures"): OCMW_CASE,
    ("POST", "/v1/fbu/cases/{case_id}/refusals"): OCMW_CASE,
    ("POST", "/v1/fbu/cases/{case_id}/repayments"): OCMW_CASE,
    ("POST", "/v1/fbu/cases/{case_id}/stable-housing"): OCMW_CASE,
    ("POST", "/v1/fbu/cases/{case_id}/close"): OCMW_CASE,
    ("GET", "/v1/fbu/cases/{case_id}/documents/agreement"): OCMW_CASE,
    ("GET", "/v1/fbu/cases/{case_id}/documents/vredegerecht-letter"): OCMW_CASE,
    # claims: Wonen-Vlaanderen's inbox and decisions; the OCMW resubmits its own (run after the decision row)
    ("GET", "/v1/claims"): WV_ONLY,
    ("GET", "/v1/claims/{claim_id}"): WV_ONLY,
    ("POST", "/v1/claims/{claim_id}/decision"): WV_ONLY,
    ("POST", "/v1/claims/{claim_id}/resubmit"): OCMW_CASE,
    # energy cases: the household's OCMW and the case's netbeheerder read; only the OCMW takes steps.
    # Opening a Gent household's case is 403 for Antwerp's OCMW (wrong_municipality) and for a netbeheerder of other
    # connection points (wrong_netbeheerder).
    ("POST", "/v1/energy/cases"): (201, 403, 403, 403, 201, 403, 403, 403, 401),
    ("GET", "/v1/energy/cases"): (200, 200, 403, 403, 200, 200, 403, 403, 401),
    ("GET", "/v1/energy/cases/{case_id}"): ENERGY_READ,
    ("GET", "/v1/energy/cases/{case_id}/household"): OCMW_CASE,  # personal data: the OCMW only, not the netbeheerder
    ("GET", "/v1/energy/cases/{case_id}/events"): ENERGY_READ,
    ("GET", "/v1/energy/cases/{case_id}/timeline"): ENERGY_READ,
    ("POST", "/v1/energy/cases/{case_id}/supplier-events"): OCMW_CASE,
    ("POST", "/v1/energy/cases/{case_id}/prepayment-requests"): OCMW_CASE_409,  # still in the notice period
    ("POST", "/v1/energy/cases/{case_id}/lac-requests"): OCMW_CASE_409,
    ("POST", "/v1/energy/cases/{case_id}/lac-advice"): OCMW_CASE_409,
    ("POST", "/v1/energy/cases/{case_id}/minimal-supply/restore-request"): OCMW_CASE_409,
    ("POST", "/v1/energy/cases/{case_id}/winter-support"): OCMW_CASE_409,  # no prepayment meter yet
    ("POST", "/v1/energy/cases/{case_id}/winter-support/decision"): OCMW_CASE_409,
    ("POST", "/v1/energy/cases/{case_id}/close"): OCMW_CASE,
    ("GET", "/v1/signals"): OCMW_OWN_LIST,
    # signed by HMAC, not by token: an unsigned body is refused for everyone, token or not
    ("POST", "/v1/integrations/netbeheerder/callbacks"): (401,) * 9,
}

#: Routes meant to show personal data to the owning OCMW (JSON only; the PDFs are not checked); every read is
#: in the access log. Everywhere else no one sees any, and even here an OCMW sees only its own cases' data.
SHOWS_PERSONAL_DATA: set[tuple[str, str]] = {
    ("GET", "/v1/fbu/cases/{case_id}/parties"),
    ("GET", "/v1/energy/cases/{case_id}/household"),
}

DOCS_ROUTES = {"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


WEB_PACKAGE = Path(api.web.__file__).resolve().parent


def is_web_route(route: RouteContext) -> bool:
    """A route of the web application: an endpoint of a module of ``api.web``, or a mount serving files from that
    package (``/static``). These are covered by tests/web/test_web_authorization.py, not by this matrix."""
    endpoint = route.endpoint
    if endpoint is not None:
        return str(getattr(endpoint, "__module__", "")).startswith("api.web")
    directory = getattr(getattr(route, "app", None), "directory", None)
    return directory is not None and Path(directory).resolve().is_relative_to(WEB_PACKAGE)


def app_routes(app: FastAPI, *, web: bool = False) -> set[tuple[str, str]]:
    """(method, path template) of every route of the JSON API (``web=False``) or of every route of the web
    application (``web=True``); a route without methods (a mount, a websocket) counts as ANY. Each route of the
    app is in exactly one of the two sets."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path in DOCS_ROUTES or is_web_route(route) != web:
            continue
        methods = set(route.methods or ()) - {"HEAD", "OPTIONS"}
        for method in methods or {"ANY"}:
            found.add((method, path))
    return found


def coverage_problems() -> list[str]:
    routes = app_routes(create_app())  # the JSON API's routes; the web application's are the web matrix's rows
    problems = [f"{m} {p} is a route of the app without authorisation expectations: add its row to EXPECTATIONS "
                f"(and a request to REQUESTS) in tests/workflows/test_authorization_matrix.py"
                for m, p in sorted(routes - EXPECTATIONS.keys())]
    problems += [f"{m} {p} is in EXPECTATIONS but no longer a route of the app: remove its row"
                 for m, p in sorted(EXPECTATIONS.keys() - routes)]
    problems += [f"{m} {p} has expectations but no request in REQUESTS"
                 for m, p in sorted(EXPECTATIONS.keys() - REQUESTS.keys())]
    problems += [f"{m} {p}: {len(row)} expectations for {len(COLUMNS)} principals"
                 for (m, p), row in EXPECTATIONS.items() if len(row) != len(COLUMNS)]
    return problems


# ---- the fixtures' personal data --------------------------------------------------------------------------

FBU_PERSONAL = (  # tenant, landlord and dwelling of ocmw-44021's FBU cases (tests.fbu_helpers.open_body)
    "Eloïse Janssens", "Janssens", "85073003328", "85.07.30-033.28", "BE71096123456769", "BE71 0961 2345 6769",
    "BE68539007547034", "Immo De Smet", "Sint-Pietersnieuwstraat",
)
ENERGY_PERSONAL = (  # the household of the energy cases (tests.energy_helpers.open_body)
    "Samira Benali", "Benali", "85073003328", "85.07.30-033.28", "Brugsesteenweg",
)
OTHER_PERSONAL = ("Jan Peeters", "78031212312", "78.03.12-123.12", "BE07363001234566", "Turnhoutsebaan")
PERSONAL = tuple(dict.fromkeys(FBU_PERSONAL + ENERGY_PERSONAL + OTHER_PERSONAL))
#: Whose personal data each OCMW may see on a route in SHOWS_PERSONAL_DATA.
OWN_PERSONAL = {"ocmw": set(FBU_PERSONAL + ENERGY_PERSONAL), "ocmw-other": set(OTHER_PERSONAL)}


def other_ocmw_fbu_body() -> dict[str, Any]:
    """An Antwerp tenant for ocmw-11002's own FBU case, with personal data of its own (to catch leaks both ways)."""
    body = open_body()
    body["tenant"] = {"name": "Jan Peeters", "national_number": "78.03.12-123.12", "iban": "BE07363001234566"}
    body["dwelling"] |= {"address": "Turnhoutsebaan 200, 2140 Antwerpen", "municipality_nis": "11002"}
    return body


# ---- the world the rows act on ----------------------------------------------------------------------------


@dataclass
class World:
    today: date
    fbu: str  # in force, its initial claim submitted
    claim: str  # that initial claim
    refused: str  # the landlord refused: the vredegerecht letter exists
    opened: str  # just opened (for drafting)
    drafted_sign: str  # drafted, awaiting signatures (for a signature)
    drafted_refuse: str  # drafted, awaiting signatures (for a refusal)
    stable: str  # in force and claimed (for declaring stable housing)
    to_close: str  # just opened (for closing)
    energy: str  # in the notice period
    energy_ean: str
    energy_supplier: str  # throw-away, closed by the supplier-event row
    energy_close: str  # throw-away, closed by the close row
    new_ean: Callable[[], str]
    policy_to_end: str  # an inert policy, ended by its row
    #: policies this test recorded (removed afterwards)
    policies: list[str]
    #: visibility group -> identifiers (case ids, claim ids, EANs) that only that group may see
    ids: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Call:
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Builder = Callable[[World, str], Call]


def fbu_case(attr: str, sub: str = "", body: Any = None) -> Builder:
    return lambda w, _who: Call(f"/v1/fbu/cases/{getattr(w, attr)}{sub}", json=body)


def energy_case(attr: str, sub: str = "", body: Callable[[World], Any] | None = None) -> Builder:
    return lambda w, _who: Call(f"/v1/energy/cases/{getattr(w, attr)}{sub}", json=body(w) if body else None)


def open_fbu(_w: World, who: str) -> Call:
    return Call("/v1/fbu/cases", json=other_ocmw_fbu_body() if who == "ocmw-other" else open_body())


def open_energy(w: World, _who: str) -> Call:
    return Call("/v1/energy/cases", json=energy_open_body(w.new_ean(), "gas", w.today))


def draft(w: World, _who: str) -> Call:
    body = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, w.today + timedelta(days=10))
    return Call(f"/v1/fbu/cases/{w.opened}/agreement", json=body)


def unsigned_callback(w: World, _who: str) -> Call:
    raw = json.dumps(callback(w.energy_ean, "invoice_unpaid")).encode()
    return Call("/v1/integrations/netbeheerder/callbacks", content=raw, headers={"Content-Type": "application/json"})


REQUESTS: dict[tuple[str, str], Builder] = {
    ("GET", "/healthz"): lambda w, _: Call("/healthz"),
    ("GET", "/metrics"): lambda w, _: Call("/metrics"),
    ("GET", "/idp/.well-known/jwks.json"): lambda w, _: Call("/idp/.well-known/jwks.json"),
    ("POST", "/codec/decode"): lambda w, _: Call("/codec/decode", json={"payloads": []}),
    ("POST", "/codec/encode"): lambda w, _: Call("/codec/encode", json={"payloads": []}),
    ("GET", "/codec/login"): lambda w, _: Call("/codec/login"),
    ("POST", "/codec/login"): lambda w, _: Call("/codec/login"),  # the caller's bearer token signs in
    ("POST", "/codec/logout"): lambda w, _: Call("/codec/logout"),
    ("GET", "/v1/audit/access"): lambda w, _: Call("/v1/audit/access"),
    ("GET", "/v1/reports/fbu"): lambda w, _: Call("/v1/reports/fbu"),
    ("GET", "/v1/reports/energy"): lambda w, _: Call(f"/v1/reports/energy?from={w.today}&to={w.today}"),
    ("GET", "/v1/admin/sharing-policies"): lambda w, _: Call("/v1/admin/sharing-policies"),
    ("POST", "/v1/admin/sharing-policies"): lambda w, _: Call("/v1/admin/sharing-policies", json=inert_policy()),
    ("POST", "/v1/admin/sharing-policies/{policy_id}/end"):
        lambda w, _: Call(f"/v1/admin/sharing-policies/{w.policy_to_end}/end"),
    ("POST", "/v1/cases/{case_id}/consents"):
        lambda w, _: Call(f"/v1/cases/{w.fbu}/consents", json={"purpose": "fbu-claim", "given": True,
                                                              "note": "Toestemmingsformulier in het dossier"}),
    ("GET", "/v1/cases/{case_id}/consents"): lambda w, _: Call(f"/v1/cases/{w.energy}/consents"),
    ("POST", "/v1/fbu/cases"): open_fbu,
    ("GET", "/v1/fbu/cases"): lambda w, _: Call("/v1/fbu/cases?page_size=200"),
    ("GET", "/v1/fbu/cases/{case_id}"): fbu_case("fbu"),
    ("GET", "/v1/fbu/cases/{case_id}/events"): fbu_case("fbu", "/events"),
    ("GET", "/v1/fbu/cases/{case_id}/parties"): fbu_case("fbu", "/parties"),
    ("PUT", "/v1/fbu/cases/{case_id}/agreement"): draft,
    ("POST", "/v1/fbu/cases/{case_id}/signatures"):
        fbu_case("drafted_sign", "/signatures", {"party": "tenant", "evidence": "Ondertekend op papier"}),
    ("POST", "/v1/fbu/cases/{case_id}/refusals"):
        fbu_case("drafted_refuse", "/refusals", {"party": "tenant", "reason": "Verhuist liever"}),
    ("POST", "/v1/fbu/cases/{case_id}/repayments"):
        lambda w, _: Call(f"/v1/fbu/cases/{w.fbu}/repayments", json={"amount": "50.00", "paid_on": str(w.today)}),
    ("POST", "/v1/fbu/cases/{case_id}/stable-housing"):
        fbu_case("stable", "/stable-housing", {"reason": "Huur stipt betaald, plan gevolgd"}),
    ("POST", "/v1/fbu/cases/{case_id}/close"): fbu_case("to_close", "/close", {"reason": "withdrawn"}),
    ("GET", "/v1/fbu/cases/{case_id}/documents/agreement"): fbu_case("fbu", "/documents/agreement"),
    ("GET", "/v1/fbu/cases/{case_id}/documents/vredegerecht-letter"):
        fbu_case("refused", "/documents/vredegerecht-letter"),
    ("GET", "/v1/claims"): lambda w, _: Call("/v1/claims?page_size=200"),
    ("GET", "/v1/claims/{claim_id}"): lambda w, _: Call(f"/v1/claims/{w.claim}"),
    ("POST", "/v1/claims/{claim_id}/decision"):
        lambda w, _: Call(f"/v1/claims/{w.claim}/decision",
                          json={"decision": "reject", "reason": "Handtekening verhuurder onleesbaar"}),
    ("POST", "/v1/claims/{claim_id}/resubmit"):
        lambda w, _: Call(f"/v1/claims/{w.claim}/resubmit", json={"comment": "Nieuwe scan van de handtekening"}),
    ("POST", "/v1/energy/cases"): open_energy,
    ("GET", "/v1/energy/cases"): lambda w, _: Call("/v1/energy/cases?page_size=200"),
    ("GET", "/v1/energy/cases/{case_id}"): energy_case("energy"),
    ("GET", "/v1/energy/cases/{case_id}/events"): energy_case("energy", "/events"),
    ("GET", "/v1/energy/cases/{case_id}/household"): energy_case("energy", "/household"),
    ("GET", "/v1/energy/cases/{case_id}/timeline"): energy_case("energy", "/timeline"),
    ("POST", "/v1/energy/cases/{case_id}/supplier-events"):
        energy_case("energy_supplier", "/supplier-events", lambda w: {"type": "payment_received", "on": str(w.today)}),
    ("POST", "/v1/energy/cases/{case_id}/prepayment-requests"):
        energy_case("energy", "/prepayment-requests", lambda w: {"note": "De klant vraagt een budgetmeter"}),
    ("POST", "/v1/energy/cases/{case_id}/lac-requests"):
        energy_case("energy", "/lac-requests", lambda w: {"hearing_on": str(w.today + timedelta(days=14))}),
    ("POST", "/v1/energy/cases/{case_id}/lac-advice"):
        energy_case("energy", "/lac-advice", lambda w: {"advice": "refuse", "on": str(w.today)}),
    ("POST", "/v1/energy/cases/{case_id}/minimal-supply/restore-request"):
        energy_case("energy", "/minimal-supply/restore-request", lambda w: {"note": "De klant vraagt herstel"}),
    ("POST", "/v1/energy/cases/{case_id}/winter-support"):
        energy_case("energy", "/winter-support", lambda w: {"average_monthly_winter_consumption_eur": "120.00"}),
    ("POST", "/v1/energy/cases/{case_id}/winter-support/decision"):
        energy_case("energy", "/winter-support/decision", lambda w: {"decision": "approve"}),
    ("POST", "/v1/energy/cases/{case_id}/close"): energy_case("energy_close", "/close", lambda w: {"reason": "moved"}),
    ("GET", "/v1/signals"): lambda w, _: Call("/v1/signals"),
    ("POST", "/v1/integrations/netbeheerder/callbacks"): unsigned_callback,
}

#: Which identifier groups each caller may see in a response (see World.ids).
VISIBLE: dict[str, set[str]] = {
    "ocmw": {"fbu:44021", "claim:44021", "energy:44021"},
    "ocmw-other": {"fbu:11002"},
    "coordinator": set(),
    "wonen-vl": {"fbu:44021", "fbu:11002", "claim:44021"},
    "nb": {"energy:44021"},
    "nb-other": set(),
    # The access log names the cases whose personal data was read (by design: that is what the auditor checks).
    "auditor": {"fbu:44021", "energy:44021"},
    "admin": set(),
    "anon": set(),
}


# ---- setup ------------------------------------------------------------------------------------------------


POLICY_COMMON: dict[str, Any] = {"legal_basis": "TEST: authorisation matrix", "agreement_ref": "TEST: no agreement",
                                 "valid_from": "2020-01-01"}


def inert_policy() -> dict[str, Any]:
    """A policy for a flow between organisations no other row or test uses."""
    return {"flow": sharing.PAYMENT_SIGNAL, "from_org": OTHER_NETBEHEERDER, "to_org": OTHER_OCMW,
            "purpose": "early-detection", "data_categories": ["municipality"], **POLICY_COMMON}


async def add_policies(stack: Stack) -> list[str]:
    """The two flows the rows need, for our organisations only, and one to end (all removed after the test).
    Recorded over the API by an administrator, as in production."""
    bodies = [
        {"flow": sharing.FBU_CLAIM, "from_org": OCMW, "to_org": "wonen-vlaanderen", "purpose": "fbu-claim",
         "data_categories": ["arrears", "agreement_dates", "rule_set", "ocmw"], **POLICY_COMMON},
        {"flow": sharing.PAYMENT_SIGNAL, "from_org": NETBEHEERDER, "to_org": OCMW, "purpose": "early-detection",
         "data_categories": ["municipality", "energy", "payment_problem"], **POLICY_COMMON},
        inert_policy(),
    ]
    ids = []
    for body in bodies:
        r = await stack.api.post("/v1/admin/sharing-policies", json=body, headers=stack.token("admin"))
        assert r.status_code == 201, r.text
        ids.append(str(r.json()["policy_id"]))
    return ids


async def build_world(stack: Stack, policies: list[str]) -> World:
    d, e = Driver(stack), EnergyDriver(stack)
    today = await d.today()
    plan = agreement_body(Decimal("2400.00"), Decimal("600.00"), 6, today + timedelta(days=10))

    async def in_force_and_claimed() -> tuple[str, str]:
        case_id, _ = await d.in_force_case()
        claim = await eventually(lambda: d.claim(case_id, "initial"))
        return case_id, str(claim["claim_id"])

    async def drafted() -> str:
        case_id = await d.open()
        await d.draft(case_id, plan)
        return case_id

    async def refused() -> str:
        case_id = await drafted()
        await d.step(case_id, "POST", "refusals", {"party": "landlord", "reason": "Wil naar de vrederechter"})
        return case_id

    in_force, simple = await asyncio.gather(
        asyncio.gather(in_force_and_claimed(), in_force_and_claimed()),
        asyncio.gather(refused(), drafted(), drafted(), d.open(), d.open()))
    (fbu, claim), (stable, stable_claim) = in_force
    refused_id, drafted_sign, drafted_refuse, opened, to_close = simple
    (energy, energy_ean), (supplier, supplier_ean), (energy_close, close_ean) = await asyncio.gather(
        e.open(), e.open(), e.open())
    # A payment problem of a household without a case: an outreach signal for ocmw-44021 (no personal data).
    r = await e.post_callback(callback(e.new_ean(), "invoice_unpaid", data={"municipality_nis": "44021"}))
    assert r.status_code == 202 and r.json()["status"] == "signal_created", r.text
    return World(
        today=today, fbu=fbu, claim=claim, refused=refused_id, opened=opened, drafted_sign=drafted_sign,
        drafted_refuse=drafted_refuse, stable=stable, to_close=to_close, energy=energy, energy_ean=energy_ean,
        energy_supplier=supplier, energy_close=energy_close, new_ean=e.new_ean, policy_to_end=policies[-1],
        policies=policies,
        ids={
            "fbu:44021": {fbu, stable, refused_id, drafted_sign, drafted_refuse, opened, to_close},
            "claim:44021": {claim, stable_claim},
            "energy:44021": {energy, energy_ean, supplier, supplier_ean, energy_close, close_ean},
            "fbu:11002": set(),
        },
    )


# ---- checks -----------------------------------------------------------------------------------------------


def readable(response: httpx.Response) -> str | None:
    """The body as text to search (JSON re-dumped so escaped characters read as themselves); None for PDFs."""
    kind = response.headers.get("content-type", "")
    if "pdf" in kind:
        return None
    text = response.text
    if "json" in kind:
        with contextlib.suppress(ValueError):
            text += "\n" + json.dumps(response.json(), ensure_ascii=False)
    return text


def found(text: str, needles: Iterable[str]) -> list[str]:
    low = text.lower()
    return [n for n in needles if n.lower() in low]


@dataclass
class Cell:
    status: int
    expected: int
    leaks: list[str]

    def show(self) -> str:
        mark = "" if self.status == self.expected else f"≠{self.expected}"
        return f"{self.status}{mark}{' LEAK' if self.leaks else ''}"


def render(table: dict[tuple[str, str], dict[str, Cell]]) -> str:
    label = {key: f"{key[0]:<6} {key[1]}" for key in table}
    first = max(len(v) for v in label.values())
    widths = {c: max(len(c), *(len(row[c].show()) for row in table.values())) for c in COLUMNS}
    lines = [" " * first + " | " + " | ".join(c.center(widths[c]) for c in COLUMNS)]
    lines.append("-" * first + "-+-" + "-+-".join("-" * widths[c] for c in COLUMNS))
    for key, row in table.items():
        lines.append(label[key].ljust(first) + " | " + " | ".join(row[c].show().center(widths[c]) for c in COLUMNS))
    return "\n".join(lines)


# ---- tests ------------------------------------------------------------------------------------------------


def test_every_route_of_the_app_is_in_the_matrix() -> None:
    problems = coverage_problems()
    assert not problems, "\n".join(problems)


async def test_authorization_matrix(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    problems = coverage_problems()
    assert not problems, "\n".join(problems)
    started = time.monotonic()
    policies = await add_policies(stack)
    world: World | None = None
    try:
        world = await build_world(stack, policies)
        await run_matrix(stack, capsys, world, setup_seconds=time.monotonic() - started, started=started)
    finally:
        await stack.pool.execute("DELETE FROM sharing_policies WHERE policy_id = ANY($1::text[])", policies)
        if world is not None:
            await close_everything(stack, world)


async def close_everything(stack: Stack, world: World) -> None:
    """Close what the rows left open, so its timers do not load the shared time-skipping server."""
    own, other = stack.token("ocmw", OCMW), stack.token("ocmw", OTHER_OCMW)
    for group, token in (("fbu:44021", own), ("fbu:11002", other), ("energy:44021", own)):
        kind = "fbu" if group.startswith("fbu") else "energy"
        for case_id in sorted(world.ids[group]):
            if case_id.startswith(("fbu-", "nrg-")):  # not the EANs
                await stack.api.post(f"/v1/{kind}/cases/{case_id}/close", json={"reason": "withdrawn"},
                                     headers=token)  # 409 for the ones already closed


async def run_matrix(stack: Stack, capsys: pytest.CaptureFixture[str], world: World, *, setup_seconds: float,
                     started: float) -> None:
    tokens: dict[str, dict[str, str]] = {}
    for column, principal in PRINCIPALS.items():
        tokens[column] = stack.token(*principal) if principal else {}
    every_id = set().union(*world.ids.values())

    table: dict[tuple[str, str], dict[str, Cell]] = {}
    failures: list[str] = []
    for (method, template), expected_row in EXPECTATIONS.items():
        row: dict[str, Cell] = {}
        for column, expected in zip(COLUMNS, expected_row, strict=True):
            call = REQUESTS[(method, template)](world, column)
            stack.api.cookies.clear()  # a login cookie of one cell must not authenticate the next one
            response = await stack.api.request(method, call.path, json=call.json, content=call.content,
                                               headers={**call.headers, **tokens[column]})
            sent = call.path + (json.dumps(call.json) if call.json is not None else "") + (
                call.content.decode() if call.content else "")
            text = readable(response)
            leaks: list[str] = []
            if text is not None:
                own = OWN_PERSONAL.get(column, set()) if (method, template) in SHOWS_PERSONAL_DATA else set()
                leaks += [f"personal data {s!r}" for s in found(text, PERSONAL) if s not in sent and s not in own]
                allowed = set().union(*(world.ids.get(g, set()) for g in VISIBLE[column]))
                leaks += [f"foreign identifier {s!r}" for s in found(text, every_id - allowed) if s not in sent]
            # Cases the other OCMW opened in the POST row are its own: from then on, ours must not show them.
            if (method, template) == ("POST", "/v1/fbu/cases") and response.status_code == 201:
                owner = "fbu:11002" if column == "ocmw-other" else "fbu:44021"
                world.ids[owner].add(response.json()["case_id"])
                every_id = set().union(*world.ids.values())
            if (method, template) == ("POST", "/v1/admin/sharing-policies") and response.status_code == 201:
                world.policies.append(response.json()["policy_id"])
            if (method, template) == ("POST", "/v1/energy/cases") and response.status_code == 201:
                world.ids["energy:44021"].add(response.json()["case_id"])
                every_id = set().union(*world.ids.values())
            if (method, template) in SHOWS_PERSONAL_DATA and response.status_code == 200 and text is not None:
                # the detector itself: the owner does get its own personal data here
                assert found(text, OWN_PERSONAL[column]), f"{method} {template}: no personal data in {text[:200]}"
            cell = Cell(response.status_code, expected, leaks)
            row[column] = cell
            if cell.status != expected:
                failures.append(f"{method} {template} as {column}: got {cell.status}, expected {expected}: "
                                f"{response.text[:200]}")
            failures += [f"{method} {template} as {column}: {leak}" for leak in leaks]
        table[(method, template)] = row

    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n\nAuthorisation matrix ({len(table)} routes × {len(COLUMNS)} principals; setup "
              f"{setup_seconds:.1f}s, total {elapsed:.1f}s). ≠N: expected N; LEAK: foreign data in the body.")
        print(render(table))
        print()
    assert not failures, "\n".join(failures)


async def test_a_callback_signed_by_another_netbeheerder_cannot_reach_our_case(stack: Stack) -> None:
    """The callback route's own/other dimension: a netbeheerder with a valid signature of its own sends a callback
    for the connection point of a case that belongs to another netbeheerder. It must not reach that case."""
    e = EnergyDriver(stack)
    case_id, code = await e.open()
    secrets = stack.settings.netbeheerder_secrets  # the API's own settings object
    secrets[OTHER_NETBEHEERDER] = [SecretStr("test-secret-eandis")]
    try:
        body = callback(code, "takeover_confirmed") | {"netbeheerder": OTHER_NETBEHEERDER}
        r = await e.post_callback(body, secret="test-secret-eandis")
    finally:
        del secrets[OTHER_NETBEHEERDER]
        await e.step(case_id, "close", {"reason": "withdrawn"})
    stored = await stack.pool.fetchval("SELECT case_id FROM netbeheerder_callbacks WHERE event_id = $1",
                                       body["event_id"])
    assert (r.status_code, stored) == (404, None), f"{r.status_code} {r.text}; stored for case {stored} ({case_id})"
