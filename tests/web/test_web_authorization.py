"""The web application's authorisation matrix: every route of ``api.web`` × the JSON matrix's nine principals.

The web pages answer to the session cookie ``vangnet_session``, which holds the same token the API accepts as a
bearer token: a principal here is that cookie with its token, ``anon`` is no cookie. The rules:
- no (valid) session: a page sends the browser to the sign-in form (303 to ``/aanmelden``), never a page;
- a session whose role the page does not serve: 403 (decided before any lookup, so also for a foreign case);
- another organisation's case or claim: 404, as in the API (the API's own ownership checks run);
- the sign-in pages are public; the web application serves no page to a netbeheerder or an administrator;
- every POST carries the session's CSRF value (``csrf_for``), the sign-in form its pre-session one: without it, or
  with another session's, the post is refused with 403 even for a principal it would otherwise serve;
- no answer carries personal data of the fixtures, except the "persoonsgegevens" fragments for the owning OCMW, and
  no answer names a case, claim or connection point of an organisation the caller may not see.

A web route without a row fails the test, and so does a row without a route: the routes this table must have are
exactly those the JSON matrix (tests/workflows/test_authorization_matrix.py) leaves to it (``is_web_route``).
The matrix is printed as a table in the test output.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import create_app
from api.web.core import CSRF_FIELD, PRE_CSRF_COOKIE, SESSION_COOKIE, csrf_for
from tests.conftest import Stack
from tests.energy_helpers import open_body as energy_open_body
from tests.fbu_helpers import OCMW, OTHER_OCMW, open_body
from tests.workflows.test_authorization_matrix import (
    COLUMNS,
    ENERGY_PERSONAL,
    FBU_PERSONAL,
    PERSONAL,
    PRINCIPALS,
    Cell,
    World,
    add_policies,
    app_routes,
    build_world,
    close_everything,
    found,
    other_ocmw_fbu_body,
    readable,
    render,
)
from vangnet.security.tokens import issue, load_or_create_key

# ---- what each caller gets --------------------------------------------------------------------------------
# Columns, in order: ocmw (own org ocmw-44021) | ocmw-other (ocmw-11002) | coordinator (ocmw-44021) |
# wonen-vl | nb (fluvius) | nb-other (eandis-test) | auditor | admin | anon (no cookie).


@dataclass(frozen=True)
class To:
    """A 303 redirect to ``location`` (with ``prefix``: to a path that starts with it, such as a new case)."""

    location: str
    prefix: bool = False

    def matches(self, location: str | None) -> bool:
        if location is None:
            return False
        return location.startswith(self.location) if self.prefix else location == self.location

    def __str__(self) -> str:
        return f"303→{self.location}{'…' if self.prefix else ''}"


Expect = int | To
IN = To("/aanmelden")  # no session: to the sign-in form
HOME_OCMW, HOME_WV, HOME_DASH = To("/werklijst"), To("/claims"), To("/dashboard")

PUBLIC = (200,) * 9
OCMW_PAGE: tuple[Expect, ...] = (200, 200, 403, 403, 403, 403, 403, 403, IN)  # each OCMW its own
OCMW_CASE: tuple[Expect, ...] = (200, 404, 403, 403, 403, 403, 403, 403, IN)  # another OCMW's case is 404
WV_PAGE: tuple[Expect, ...] = (403, 403, 403, 200, 403, 403, 403, 403, IN)
DASHBOARD: tuple[Expect, ...] = (403, 403, 200, 403, 403, 403, 200, 403, IN)  # coordinator (own org) and auditor

EXPECTATIONS: dict[tuple[str, str], tuple[Expect, ...]] = {
    ("ANY", "/static"): PUBLIC,  # stylesheet, script and vendored packages
    # signing in: public. "/" sends a session to the home of its role; a role without pages to the sign-in form.
    ("GET", "/"): (HOME_OCMW, HOME_OCMW, HOME_DASH, HOME_WV, IN, IN, HOME_DASH, IN, IN),
    ("GET", "/aanmelden"): PUBLIC,
    # Each principal signs in as its own role (anon as an OCMW worker): the embedded picker offers no netbeheerder
    # or administrator session (422).
    ("POST", "/aanmelden"): (HOME_OCMW, HOME_OCMW, HOME_DASH, HOME_WV, 422, 422, HOME_DASH, 422, HOME_OCMW),
    # No identity provider is configured on the test stack: the OIDC start is 404 and its callback 403 for all
    # (tests/web/test_oidc.py signs in through a real one).
    ("GET", "/aanmelden/oidc"): (404,) * 9,
    ("GET", "/aanmelden/oidc/terug"): (403,) * 9,
    ("POST", "/afmelden"): (To("/aanmelden?afgemeld=1"),) * 4 + (403, 403, To("/aanmelden?afgemeld=1"), 403, IN),
    # the OCMW's work
    ("GET", "/werklijst"): OCMW_PAGE,
    ("GET", "/fbu/nieuw"): OCMW_PAGE,
    # A Gent dwelling: a case for ocmw-44021; Antwerp's OCMW is refused by the API's own rule (422, form shown again)
    ("POST", "/fbu/nieuw"): (To("/fbu/", prefix=True), 422, 403, 403, 403, 403, 403, 403, IN),
    ("GET", "/fbu/{case_id}"): OCMW_CASE,
    ("POST", "/fbu/{case_id}/stap/{step}"): OCMW_CASE,
    ("POST", "/fbu/{case_id}/toestemming"): OCMW_CASE,
    ("POST", "/fbu/{case_id}/persoonsgegevens"): OCMW_CASE,
    ("GET", "/fbu/{case_id}/overeenkomst.pdf"): OCMW_CASE,
    ("GET", "/fbu/{case_id}/brief-vredegerecht.pdf"): OCMW_CASE,
    ("GET", "/energie/nieuw"): OCMW_PAGE,
    ("POST", "/energie/nieuw"): (To("/energie/", prefix=True), 422, 403, 403, 403, 403, 403, 403, IN),
    # The energy pages are the OCMW's only: the netbeheerder reads its cases over the API, it has no pages.
    ("GET", "/energie/{case_id}"): OCMW_CASE,
    ("POST", "/energie/{case_id}/stap/{step}"): OCMW_CASE,
    ("POST", "/energie/{case_id}/persoonsgegevens"): OCMW_CASE,
    # Wonen-Vlaanderen: the inbox, a claim, its decision (a rejection); then the OCMW resubmits it (row order matters)
    ("GET", "/claims"): WV_PAGE,
    ("GET", "/claims/{claim_id}"): WV_PAGE,
    ("POST", "/claims/{claim_id}/beslissing"): WV_PAGE,
    ("POST", "/fbu/{case_id}/aanvraag/{claim_id}/opnieuw"): OCMW_CASE,
    # aggregates only
    ("GET", "/dashboard"): DASHBOARD,
    ("GET", "/dashboard/{table}.csv"): DASHBOARD,
}

#: The fragments meant to show personal data to the owning OCMW (every read is in the access log).
SHOWS_PERSONAL_DATA = {
    ("POST", "/fbu/{case_id}/persoonsgegevens"): set(FBU_PERSONAL),
    ("POST", "/energie/{case_id}/persoonsgegevens"): set(ENERGY_PERSONAL),
}
#: The new-case forms' format examples happen to be the fixtures' national number and IBAN: not a leak.
FORM_EXAMPLES = ("Bijvoorbeeld 85.07.30-033.28", "Bijvoorbeeld BE71 0961 2345 6769")
#: Steps whose 200 must be the step applied (the page turns the API's refusals into a 200 with an error message).
APPLIES_A_STEP = {
    ("POST", "/fbu/{case_id}/stap/{step}"), ("POST", "/fbu/{case_id}/toestemming"),
    ("POST", "/energie/{case_id}/stap/{step}"), ("POST", "/claims/{claim_id}/beslissing"),
    ("POST", "/fbu/{case_id}/aanvraag/{claim_id}/opnieuw"),
}
#: Which identifier groups (World.ids) each caller may see in an answer.
VISIBLE: dict[str, set[str]] = {
    "ocmw": {"fbu:44021", "claim:44021", "energy:44021"},
    "ocmw-other": {"fbu:11002", "energy:11002"},
    "coordinator": set(),
    "wonen-vl": {"fbu:44021", "fbu:11002", "claim:44021"},
    "nb": set(),  # no pages for a netbeheerder
    "nb-other": set(),
    "auditor": set(),
    "admin": set(),
    "anon": set(),
}
#: Organisations an answer must not name: the coordinator's dashboard is its own OCMW's, whatever it asks for.
FOREIGN_ORGS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("GET", "/dashboard"): {"coordinator": (OTHER_OCMW,)},
    ("GET", "/dashboard/{table}.csv"): {"coordinator": (OTHER_OCMW,)},
}


# ---- the requests -----------------------------------------------------------------------------------------


@dataclass
class Call:
    path: str
    form: dict[str, str] | None = None  # a POST's form (its CSRF value is added by the runner)
    signs_in: bool = False  # the sign-in form: its CSRF value is the pre-session cookie's


Builder = Callable[[World, str], Call]


def flat(nested: dict[str, Any]) -> dict[str, str]:
    """An API body as the new-case form posts it: ``{"tenant.name": …}``."""
    return {f"{head}.{k}": str(v) for head, part in nested.items() if isinstance(part, dict) for k, v in part.items()
            } | {k: str(v) for k, v in nested.items() if not isinstance(v, dict)}


def sign_in_as(_w: World, who: str) -> Call:
    role, org = PRINCIPALS[who] or ("ocmw", OCMW)
    return Call("/aanmelden", {"role": role, "org": org or ""}, signs_in=True)


def new_fbu(_w: World, _who: str) -> Call:
    return Call("/fbu/nieuw", flat(open_body()) | {"idem": uuid.uuid4().hex})


def new_energy(w: World, _who: str) -> Call:
    return Call("/energie/nieuw", flat(energy_open_body(w.new_ean(), "gas", w.today)) | {"idem": uuid.uuid4().hex})


REQUESTS: dict[tuple[str, str], Builder] = {
    ("ANY", "/static"): lambda w, _: Call("/static/app.css"),
    ("GET", "/"): lambda w, _: Call("/"),
    ("GET", "/aanmelden"): lambda w, _: Call("/aanmelden"),
    ("POST", "/aanmelden"): sign_in_as,
    ("GET", "/aanmelden/oidc"): lambda w, _: Call("/aanmelden/oidc"),
    ("GET", "/aanmelden/oidc/terug"): lambda w, _: Call("/aanmelden/oidc/terug?code=x&state=y"),
    ("POST", "/afmelden"): lambda w, _: Call("/afmelden", {}),
    ("GET", "/werklijst"): lambda w, _: Call("/werklijst"),
    ("GET", "/fbu/nieuw"): lambda w, _: Call("/fbu/nieuw"),
    ("POST", "/fbu/nieuw"): new_fbu,
    ("GET", "/fbu/{case_id}"): lambda w, _: Call(f"/fbu/{w.fbu}"),
    ("POST", "/fbu/{case_id}/stap/{step}"):
        lambda w, _: Call(f"/fbu/{w.fbu}/stap/afbetaling", {"amount": "50,00", "paid_on": str(w.today)}),
    ("POST", "/fbu/{case_id}/toestemming"):
        lambda w, _: Call(f"/fbu/{w.fbu}/toestemming", {"purpose": "fbu-claim", "given": "yes",
                                                        "note": "Toestemmingsformulier in het dossier"}),
    ("POST", "/fbu/{case_id}/persoonsgegevens"): lambda w, _: Call(f"/fbu/{w.fbu}/persoonsgegevens", {}),
    ("GET", "/fbu/{case_id}/overeenkomst.pdf"): lambda w, _: Call(f"/fbu/{w.fbu}/overeenkomst.pdf"),
    ("GET", "/fbu/{case_id}/brief-vredegerecht.pdf"): lambda w, _: Call(f"/fbu/{w.refused}/brief-vredegerecht.pdf"),
    ("GET", "/energie/nieuw"): lambda w, _: Call("/energie/nieuw"),
    ("POST", "/energie/nieuw"): new_energy,
    ("GET", "/energie/{case_id}"): lambda w, _: Call(f"/energie/{w.energy}"),
    ("POST", "/energie/{case_id}/stap/{step}"):
        lambda w, _: Call(f"/energie/{w.energy_supplier}/stap/supplier", {"type": "payment_received",
                                                                          "on": str(w.today)}),
    ("POST", "/energie/{case_id}/persoonsgegevens"): lambda w, _: Call(f"/energie/{w.energy}/persoonsgegevens", {}),
    ("GET", "/claims"): lambda w, _: Call("/claims?status=claimed"),
    ("GET", "/claims/{claim_id}"): lambda w, _: Call(f"/claims/{w.claim}"),
    ("POST", "/claims/{claim_id}/beslissing"):
        lambda w, _: Call(f"/claims/{w.claim}/beslissing", {"decision": "reject",
                                                            "reason": "Handtekening verhuurder onleesbaar"}),
    ("POST", "/fbu/{case_id}/aanvraag/{claim_id}/opnieuw"):
        lambda w, _: Call(f"/fbu/{w.fbu}/aanvraag/{w.claim}/opnieuw", {"comment": "Nieuwe scan van de handtekening"}),
    # the coordinator asks for another OCMW's figures: it gets its own
    ("GET", "/dashboard"): lambda w, _: Call(f"/dashboard?ocmw={OTHER_OCMW}"),
    ("GET", "/dashboard/{table}.csv"): lambda w, _: Call(f"/dashboard/energy-municipality.csv?ocmw={OTHER_OCMW}"),
}


def coverage_problems() -> list[str]:
    routes = app_routes(create_app(), web=True)  # exactly the routes the JSON matrix leaves to this one
    problems = [f"{m} {p} is a route of the web application without authorisation expectations: add its row to "
                f"EXPECTATIONS (and a request to REQUESTS) in tests/web/test_web_authorization.py"
                for m, p in sorted(routes - EXPECTATIONS.keys())]
    problems += [f"{m} {p} is in EXPECTATIONS but no longer a route of the web application (or the JSON matrix "
                 f"covers it): remove its row" for m, p in sorted(EXPECTATIONS.keys() - routes)]
    problems += [f"{m} {p} has expectations but no request in REQUESTS"
                 for m, p in sorted(EXPECTATIONS.keys() - REQUESTS.keys())]
    problems += [f"{m} {p}: {len(row)} expectations for {len(COLUMNS)} principals"
                 for (m, p), row in EXPECTATIONS.items() if len(row) != len(COLUMNS)]
    return problems


# ---- calling a page as a principal ------------------------------------------------------------------------


def session_tokens(stack: Stack) -> dict[str, str | None]:
    """Each column's session cookie value: the token the API would accept as a bearer token."""
    return {column: stack.token(*principal)["Authorization"].removeprefix("Bearer ") if principal else None
            for column, principal in PRINCIPALS.items()}


async def pre_csrf(stack: Stack) -> str:
    """The sign-in form's CSRF value, as a browser gets it: the form sets it as a cookie and in a hidden field."""
    stack.api.cookies.clear()
    r = await stack.api.get("/aanmelden")
    match = re.search(rf"{PRE_CSRF_COOKIE}=([^;]+)", r.headers.get("set-cookie", ""))
    assert r.status_code == 200 and match, r.headers
    return match.group(1)


async def send(stack: Stack, method: str, call: Call, token: str | None, *, csrf: str | None = "session",
               htmx: bool = False) -> httpx.Response:
    """One request with the session cookie ``token``; ``csrf``: "session" (the right value), None (none) or a value.
    Cookies go in the header: the client's jar would drop the app's Secure cookies on this http:// address."""
    cookies = {SESSION_COOKIE: token} if token else {}
    headers = {"HX-Request": "true"} if htmx else {}
    data = None
    if method == "POST":
        data = dict(call.form or {})
        value = csrf
        if call.signs_in:
            cookies[PRE_CSRF_COOKIE] = await pre_csrf(stack)
            value = cookies[PRE_CSRF_COOKIE] if csrf == "session" else csrf
        elif csrf == "session":
            value = csrf_for(token) if token else None
        if value is not None:
            data[CSRF_FIELD] = value
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    stack.api.cookies.clear()  # a cookie set by one cell must not authenticate the next one
    return await stack.api.request("GET" if method == "ANY" else method, call.path, data=data, headers=headers)


def status_matches(response: httpx.Response, expected: Expect) -> bool:
    if isinstance(expected, To):
        return response.status_code == 303 and expected.matches(response.headers.get("location"))
    return response.status_code == expected


@dataclass
class WebCell(Cell):
    """A cell of the JSON matrix's table (its ``render``), with a redirect's target as part of the expectation."""

    want: Expect = 0
    location: str | None = None
    ok: bool = True
    notes: list[str] = field(default_factory=list)

    def show(self) -> str:
        got = str(To(self.location or "")) if self.status == 303 else str(self.status)
        if isinstance(self.want, To) and self.ok:
            got = str(self.want)  # "303→/fbu/…", not the new case's id
        mark = "" if self.ok else f"≠{self.want}"
        return f"{got}{mark}{' LEAK' if self.leaks else ''}"


# ---- the world --------------------------------------------------------------------------------------------


async def add_other_ocmw_cases(stack: Stack, world: World) -> None:
    """Cases of ocmw-11002, with personal data of their own: ours must never show them, nor theirs ours."""
    token = stack.token("ocmw", OTHER_OCMW)
    r = await stack.api.post("/v1/fbu/cases", json=other_ocmw_fbu_body(), headers=token)
    assert r.status_code == 201, r.text
    world.ids["fbu:11002"].add(r.json()["case_id"])
    code = world.new_ean()
    body = energy_open_body(code, "gas", world.today, nis="11002")
    body["household"] |= {"name": "Jan Peeters", "national_number": "78.03.12-123.12",
                          "address": "Turnhoutsebaan 200, 2140 Antwerpen"}
    r = await stack.api.post("/v1/energy/cases", json=body, headers=token)
    assert r.status_code == 201, r.text
    world.ids["energy:11002"] = {r.json()["case_id"], code}


# ---- tests ------------------------------------------------------------------------------------------------


def test_every_web_route_is_in_the_web_matrix() -> None:
    problems = coverage_problems()
    assert not problems, "\n".join(problems)


async def test_web_authorization_matrix(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    problems = coverage_problems()
    assert not problems, "\n".join(problems)
    started = time.monotonic()
    policies = await add_policies(stack)
    world: World | None = None
    try:
        world = await build_world(stack, policies)
        await add_other_ocmw_cases(stack, world)
        setup = time.monotonic() - started
        failures, csrf_checks = await refused_without_csrf(stack, world)
        more, session_checks = await no_valid_session_is_no_session(stack, world)
        failures += more
        failures += await run_matrix(stack, capsys, world, setup_seconds=setup, started=started,
                                     extra=f"Before the matrix, {csrf_checks} posts without the CSRF value or with "
                                           f"another session's were refused (403) and {session_checks} requests "
                                           f"with a forged or expired session or by htmx without one were sent to "
                                           f"the sign-in form.")
        assert not failures, "\n".join(failures)
    finally:
        await stack.pool.execute("DELETE FROM sharing_policies WHERE policy_id = ANY($1::text[])", policies)
        if world is not None:
            await close_everything(stack, world)
            other = stack.token("ocmw", OTHER_OCMW)
            for case_id in sorted(world.ids.get("energy:11002", set())):
                if case_id.startswith("nrg-"):
                    await stack.api.post(f"/v1/energy/cases/{case_id}/close", json={"reason": "moved"},
                                         headers=other)


def serves(expected: Expect) -> bool:
    """The principal gets past the role check: only the CSRF value stands between it and the handler."""
    return expected != 403 and expected != IN


async def refused_without_csrf(stack: Stack, world: World) -> tuple[list[str], int]:
    """Every POST, for every principal it would serve (including another OCMW, which would get a 404): without a
    CSRF value, and with another session's, 403. Run before the matrix, so a post let through would show there."""
    tokens = session_tokens(stack)
    foreign = csrf_for(str(tokens["admin"]))  # a real session's value, not this one's
    failures, checks = [], 0
    for (method, template), row in EXPECTATIONS.items():
        if method != "POST":
            continue
        for column, expected in zip(COLUMNS, row, strict=True):
            if not serves(expected):
                continue
            for label, csrf in (("no CSRF value", None), ("another session's CSRF value", foreign)):
                call = REQUESTS[(method, template)](world, column)
                r = await send(stack, method, call, tokens[column], csrf=csrf)
                checks += 1
                if r.status_code != 403 or SESSION_COOKIE in r.headers.get("set-cookie", ""):
                    failures.append(f"{method} {template} as {column} with {label}: got {r.status_code}, expected "
                                    f"403: {r.text[:200]}")
    return failures, checks


async def no_valid_session_is_no_session(stack: Stack, world: World) -> tuple[list[str], int]:
    """A session cookie that is not a valid token (signed by another key, expired) is treated as no session; an
    htmx request without a session is sent to the sign-in form with HX-Redirect."""
    settings = stack.settings
    forged = issue(rsa.generate_private_key(public_exponent=65537, key_size=2048), issuer=settings.token_issuer,
                   audience=settings.token_audience, role="ocmw", org=OCMW)
    expired = issue(load_or_create_key(settings.key_file), issuer=settings.token_issuer,
                    audience=settings.token_audience, role="ocmw", org=OCMW, now=time.time() - 7200)
    failures, checks = [], 0
    anon = COLUMNS.index("anon")
    for (method, template), row in EXPECTATIONS.items():
        if row[anon] != IN:
            continue  # the public routes answer alike anyway
        for label, token in (("a forged session", forged), ("an expired session", expired)):
            call = REQUESTS[(method, template)](world, "anon")
            r = await send(stack, method, call, token, csrf=csrf_for(token))
            checks += 1
            if not status_matches(r, IN):
                failures.append(f"{method} {template} with {label}: got {r.status_code} "
                                f"{r.headers.get('location')}, expected {IN}")
        r = await send(stack, method, REQUESTS[(method, template)](world, "anon"), None, htmx=True)
        checks += 1
        if (r.status_code, r.headers.get("hx-redirect")) != (204, "/aanmelden"):
            failures.append(f"{method} {template} by htmx without a session: got {r.status_code} "
                            f"{r.headers.get('hx-redirect')}, expected 204 with HX-Redirect /aanmelden")
    return failures, checks


async def run_matrix(stack: Stack, capsys: pytest.CaptureFixture[str], world: World, *, setup_seconds: float,
                     started: float, extra: str) -> list[str]:
    tokens = session_tokens(stack)
    every_id = set().union(*world.ids.values())
    table: dict[tuple[str, str], dict[str, Cell]] = {}
    failures: list[str] = []
    for (method, template), expected_row in EXPECTATIONS.items():
        row: dict[str, Cell] = {}
        for column, expected in zip(COLUMNS, expected_row, strict=True):
            call = REQUESTS[(method, template)](world, column)
            response = await send(stack, method, call, tokens[column])
            sent = call.path + " ".join((call.form or {}).values())
            text = readable(response)
            for example in FORM_EXAMPLES:
                text = text.replace(example, "") if text is not None else None
            leaks: list[str] = []
            notes: list[str] = []
            if text is not None:
                own = SHOWS_PERSONAL_DATA.get((method, template), set()) if column == "ocmw" else set()
                leaks += [f"personal data {s!r}" for s in found(text, PERSONAL) if s not in sent and s not in own]
                allowed = set().union(*(world.ids.get(g, set()) for g in VISIBLE[column]))
                leaks += [f"foreign identifier {s!r}" for s in found(text, every_id - allowed) if s not in sent]
                orgs = FOREIGN_ORGS.get((method, template), {}).get(column, ())
                leaks += [f"foreign organisation {s!r}" for s in found(text, orgs) if s not in sent]
                # the detector itself: the owner does get its own personal data here
                if (method, template) in SHOWS_PERSONAL_DATA and response.status_code == 200 \
                        and not found(text, SHOWS_PERSONAL_DATA[(method, template)]):
                    notes.append(f"no personal data in {text[:200]}")
                if (method, template) in APPLIES_A_STEP and response.status_code == 200 \
                        and ('class="success"' not in text or 'class="error"' in text):
                    notes.append(f"the step was not applied: {text[:300]}")
            location = response.headers.get("location")
            if response.status_code == 303 and location:
                # a new case of ours, from the POST rows: from then on no one else may see it
                for prefix, group in (("/fbu/fbu-", "fbu:44021"), ("/energie/nrg-", "energy:44021")):
                    if location.startswith(prefix):
                        world.ids[group].add(location.rsplit("/", 1)[1])
                        every_id = set().union(*world.ids.values())
            ok = status_matches(response, expected) and not notes
            cell = WebCell(response.status_code, response.status_code, leaks, want=expected, location=location,
                           ok=ok, notes=notes)
            row[column] = cell
            if not status_matches(response, expected):
                failures.append(f"{method} {template} as {column}: got {response.status_code} {location or ''}, "
                                f"expected {expected}: {response.text[:200]}")
            failures += [f"{method} {template} as {column}: {note}" for note in notes]
            failures += [f"{method} {template} as {column}: {leak}" for leak in leaks]
        table[(method, template)] = row

    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n\nWeb authorisation matrix ({len(table)} routes × {len(COLUMNS)} principals; setup "
              f"{setup_seconds:.1f}s, total {elapsed:.1f}s). 303→/x: redirect to /x; ≠N: expected N; LEAK: foreign "
              f"data in the body.\n{extra}")
        print(render(table))
        print()
    return failures
