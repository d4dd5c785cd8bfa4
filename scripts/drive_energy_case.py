"""Drive one GAS energy case over real HTTP against a running ``make dev``, from notice of default to prepayment.

    .venv/bin/python scripts/drive_energy_case.py [--api http://127.0.0.1:8000]
        [--netbeheerder-sim http://127.0.0.1:8102] [--timeout 60]

As the OCMW of Gent (ocmw-44021) it opens a gas case for a fresh connection point (a new valid EAN-18 every run)
whose supplier sent the notice of default today, records that the supplier ended the contract (the engine asks
the netbeheerder to take over), waits until the netbeheerder simulator's signed ``takeover_confirmed`` callback has
made the netbeheerder the social supplier, passes on the customer's request for prepayment (for gas the engine
would otherwise wait 20 days after an unpaid invoice) and waits until the prepayment function is active and the
emergency credit granted. Last it asks the simulator (``GET /v1/callbacks``) for every callback it sent for this
EAN and checks that Vangnet answered each 202 (or 200 for a repeat): they were signed, and Vangnet accepted the
signature. Tokens come from ``vangnet token`` (the embedded identity provider, so run this from the directory
``make dev`` runs in, or with the same ``VANGNET_VAR_DIR``).

One line per step, then a summary; exit status 0. An unexpected HTTP answer prints its status and body, a wait
that runs out its time says what it was waiting for, a callback Vangnet refused names its answer; all exit with
status 1. Every write carries an ``Idempotency-Key``, so a request repeated after a lost connection is applied once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from drive_http import (
    WRITE_ATTEMPTS,
    DriveError,
    HttpDrive,
    default_api,
    issue_token,
    money,
    step,
    tolerate_any_terminal,
)

OCMW = "ocmw-44021"
MUNICIPALITY = "44021"  # Gent
NETBEHEERDER = "fluvius"
ACCEPTED = (202, 200)  # Vangnet's answers to a signed callback: accepted, or already received (same event_id)
EXPECTED_CALLBACKS = ("takeover_confirmed", "prepayment_activated", "emergency_credit_granted")


def default_sim() -> str:
    return f"http://127.0.0.1:{os.environ.get('VANGNET_NETBEHEERDER_SIM_PORT') or 8102}"


def brussels_today() -> date:
    """The engine's business date: today in Brussels (not this machine's zone, which may already be tomorrow)."""
    return datetime.now(ZoneInfo("Europe/Brussels")).date()


def fresh_ean() -> str:
    """A valid Belgian EAN-18 (GS1 check digit) no earlier run used: a random nine-digit serial."""
    body = f"54144882{uuid.uuid4().int % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


class Drive(HttpDrive):
    def __init__(self, api: str, sim: str, timeout: float) -> None:
        super().__init__(api, timeout, interval=0.3)
        self.sim = httpx.Client(base_url=sim, timeout=30)
        self.sim_call("/healthz")
        self.ocmw = {"Authorization": f"Bearer {issue_token('ocmw', OCMW)}"}

    # ---- HTTP -------------------------------------------------------------------------------------------

    def sim_call(self, path: str) -> Any:
        r = self.send(self.sim, "the netbeheerder simulator", "GET", path, WRITE_ATTEMPTS)
        if r.status_code != 200:
            raise DriveError(f"GET {self.sim.base_url}{path} answered {r.status_code} (expected 200):\n{r.text}")
        return r.json()

    # ---- reading ----------------------------------------------------------------------------------------

    def case(self, case_id: str) -> dict[str, Any]:
        state: dict[str, Any] = self.call("GET", f"/v1/energy/cases/{case_id}", self.ocmw)
        return state

    def events(self, case_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", f"/v1/energy/cases/{case_id}/events", self.ocmw)
        return found

    def callbacks(self, ean: str) -> list[dict[str, Any]]:
        """Every callback copy the simulator sent for this EAN (each listed once its delivery is finished)."""
        sent = self.sim_call("/v1/callbacks")["callbacks"]
        return [c for c in sent if c["callback"]["ean"] == ean]

    def refused(self, ean: str) -> None:
        """Stop at once when Vangnet refused one of the simulator's callbacks: waiting longer cannot help."""
        for c in self.callbacks(ean):
            if c["status"] not in ACCEPTED:
                raise DriveError(f"Vangnet answered the simulator's {c['type']} callback {c['event_id']} with "
                                 f"{c['status']} (attempts {c['attempts']}); expected 202: is the callback signed "
                                 f"with a secret Vangnet knows (VANGNET_NETBEHEERDER_SECRETS)?")

    def has_events(self, case_id: str, ean: str, *types: str) -> list[dict[str, Any]] | None:
        events = self.events(case_id)
        seen = [e["type"] for e in events]
        if all(t in seen for t in types):
            return events
        if "CaseClosed" in seen:
            closed = next(e for e in events if e["type"] == "CaseClosed")
            raise DriveError(f"the case closed unexpectedly ({closed['data'].get('reason')})")
        self.refused(ean)
        return None

    def all_callbacks_in(self, ean: str) -> list[dict[str, Any]] | None:
        """The callbacks for this EAN once every request Vangnet made for it was performed and called back."""
        requests = [r for r in self.sim_call("/v1/requests")["requests"] if r["request"]["ean"] == ean]
        if any(r["status"] != "performed" or not r["callbacks"] for r in requests):
            return None
        sent = self.callbacks(ean)
        if not all(any(c["type"] == t for c in sent) for t in EXPECTED_CALLBACKS):
            return None
        return sent

    # ---- the whole case ---------------------------------------------------------------------------------

    def open_case(self, ean: str, today: date) -> str:
        body = {
            "household": {"name": "Samira Benali", "national_number": "85.07.30-033.28",
                          "address": "Brugsesteenweg 12, 9000 Gent", "municipality_nis": MUNICIPALITY},
            "ean": ean, "energy": "gas", "supplier": "Engie", "netbeheerder": NETBEHEERDER,
            "notice_of_default_on": today.isoformat(),
        }
        created = self.call("POST", "/v1/energy/cases", self.ocmw, expect=201, json=body, key="open")
        return str(created["case_id"])

    def drive(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        today = brussels_today()
        ean = fresh_ean()
        case_id = self.open_case(ean, today)
        state = self.case(case_id)
        step(f"gas case opened: {case_id} (EAN {ean}, {OCMW}, netbeheerder {NETBEHEERDER})")
        step(f"notice of default of {today} recorded; notice period until {state['notice_period_ends_on']} "
             f"(rule set {state['rule_set_id']})")

        result = self.call("POST", f"/v1/energy/cases/{case_id}/supplier-events", self.ocmw, key="contract-ended",
                           json={"type": "contract_ended", "on": today.isoformat()})
        if result["status"] != "awaiting_takeover":
            raise DriveError(f"after the contract ended the case is '{result['status']}', not 'awaiting_takeover'")
        step(f"contract ended by the supplier on {today}; {NETBEHEERDER} asked to take over")

        self.wait(f"SocialSupplierTookOver on {case_id} (the simulator's signed takeover_confirmed callback)",
                  lambda: self.has_events(case_id, ean, "SocialSupplierTookOver"))
        step(f"{NETBEHEERDER} took over as social supplier (signed takeover_confirmed callback accepted)")

        self.call("POST", f"/v1/energy/cases/{case_id}/prepayment-requests", self.ocmw, key="prepayment",
                  json={"note": "The customer asks for the prepayment function now (drive_energy_case.py)"})
        step("prepayment activation requested at the customer's request")

        events = self.wait(f"PrepaymentActivated and EmergencyCreditGranted on {case_id}",
                           lambda: self.has_events(case_id, ean, "PrepaymentActivated", "EmergencyCreditGranted"))
        credit = next(e["data"] for e in events if e["type"] == "EmergencyCreditGranted")
        step("prepayment function activated (signed prepayment_activated callback accepted)")
        unindexed = " (index not set: the unindexed base)" if credit.get("index_set") is False else ""
        step(f"emergency credit granted: {money(credit['amount'])} {credit['unit']}{unindexed}")

        callbacks = self.wait(f"the simulator to finish its callbacks for EAN {ean}",
                              lambda: self.all_callbacks_in(ean))
        self.refused(ean)
        step(f"{len(callbacks)} signed callbacks for EAN {ean}, every one accepted by Vangnet: "
             + ", ".join(f"{c['type']} {c['status']}" for c in callbacks))

        state = self.case(case_id)
        if state["phase"] != "prepayment" or not state["prepayment_active"]:
            raise DriveError(f"the case ended in phase '{state['phase']}' (prepayment active: "
                             f"{state['prepayment_active']}), not 'prepayment'")
        return state, self.events(case_id), callbacks


def summary(state: dict[str, Any], events: list[dict[str, Any]], callbacks: list[dict[str, Any]],
            took: float) -> None:
    print(f"\nCase {state['case_id']}: phase {state['phase']}, {state['energy']} EAN {state['ean']}, "
          f"rule set {state['rule_set_id']}, emergency credit {money(state['emergency_credit'])} eur, {took:.1f} s")
    for e in events:
        print(f"  {e['stream_version']:>3}  {e['type']:<30} {e['occurred_at']}")
    print(f"  callbacks: {len(callbacks)} sent, "
          f"{sum(1 for c in callbacks if c['status'] in ACCEPTED)} accepted", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Drive one gas energy case over HTTP, from notice of default to prepayment activation.")
    parser.add_argument("--api", default=default_api(),
                        help="the API's base URL (default: http://127.0.0.1:$VANGNET_API_PORT, else port 8000)")
    parser.add_argument("--netbeheerder-sim", default=default_sim(),
                        help="the netbeheerder simulator's base URL (default: "
                             "http://127.0.0.1:$VANGNET_NETBEHEERDER_SIM_PORT, else port 8102)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds each wait may take (default 60)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    tolerate_any_terminal()
    started = time.monotonic()
    try:
        state, events, callbacks = Drive(args.api.rstrip("/"), args.netbeheerder_sim.rstrip("/"),
                                         args.timeout).drive()
    except DriveError as exc:
        print(f"✗ {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("✗ interrupted", file=sys.stderr)
        return 130
    summary(state, events, callbacks, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
