"""Drive one FBU case over real HTTP against a running ``make dev``, from opening to tranche 2 paid.

    .venv/bin/python scripts/drive_fbu_case.py [--api http://127.0.0.1:8000] [--arrears 2400.00] [--timeout 60]

As the OCMW it opens a case, drafts the agreement (the landlord payment plus a monthly plan that add up to the
arrears) and records the three signatures; as Wonen-Vlaanderen it approves the initial claim (forfait and
tranche 1) once it reaches the inbox; after that payment the OCMW declares stable housing, Wonen-Vlaanderen
approves the tranche 2 claim and the case closes as completed. Tokens come from ``vangnet token`` (the embedded
identity provider, so run this from the directory ``make dev`` runs in, or with the same ``VANGNET_VAR_DIR``).

One line per step, then a summary; exit status 0. An unexpected HTTP answer prints its status and body, a wait
that runs out its time says what it was waiting for; both exit with status 1. Every write carries an
``Idempotency-Key``, so a request repeated after a lost connection is applied once.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from drive_http import DriveError, HttpDrive, default_api, issue_token, money, step, tolerate_any_terminal

OCMW = "ocmw-44021"
PLAN_MONTHS = 6


class Drive(HttpDrive):
    def __init__(self, api: str, arrears: Decimal, timeout: float, org: str = OCMW) -> None:
        super().__init__(api, timeout, interval=0.5)
        self.arrears = arrears
        self.org = org
        self.ocmw = {"Authorization": f"Bearer {issue_token('ocmw', org)}"}
        self.wv = {"Authorization": f"Bearer {issue_token('wonen-vlaanderen')}"}

    # ---- steps ------------------------------------------------------------------------------------------

    def open_case(self, today: date) -> str:
        body = {
            "tenant": {"name": "Eloïse Janssens", "national_number": "85.07.30-033.28",
                       "iban": "BE71 0961 2345 6769"},
            "landlord": {"name": "Immo De Smet bv", "iban": "BE68539007547034"},
            "dwelling": {"address": "Sint-Pietersnieuwstraat 41 bus 3, 9000 Gent",
                         "municipality_nis": self.org.removeprefix("ocmw-"),
                         "rental_market": "private", "monthly_rent": "800.00"},
            "arrears": {"amount": money(self.arrears), "since": (today - timedelta(days=90)).isoformat()},
        }
        created = self.call("POST", "/v1/fbu/cases", self.ocmw, expect=201, json=body, key="open")
        return str(created["case_id"])

    def agreement(self, today: date) -> dict[str, Any]:
        """Half the arrears to the landlord at once, the rest in equal monthly instalments (the last takes the
        rounding rest), so landlord payment + plan = arrears to the cent."""
        landlord = (self.arrears / 2).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        rest = self.arrears - landlord
        each = (rest / PLAN_MONTHS).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        plan = [{"due_on": (today + timedelta(days=30 * (i + 1))).isoformat(),
                 "amount": money(each if i < PLAN_MONTHS - 1 else rest - each * (PLAN_MONTHS - 1))}
                for i in range(PLAN_MONTHS)]
        return {"landlord_payment": money(landlord), "plan": plan}

    def case(self, case_id: str) -> dict[str, Any]:
        state: dict[str, Any] = self.call("GET", f"/v1/fbu/cases/{case_id}", self.ocmw)
        return state

    def claim_in_inbox(self, case_id: str, kind: str) -> dict[str, Any] | None:
        page = 1
        while True:
            found = self.call("GET", "/v1/claims", self.wv,
                              params={"status": "claimed", "page": page, "page_size": 200})
            for claim in found["items"]:
                if claim["case_id"] == case_id and claim["claim_kind"] == kind:
                    return dict(claim)
            if page * found["page_size"] >= found["total"]:
                return None
            page += 1

    def paid(self, case_id: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
        state = self.case(case_id)
        payouts = [p for p in state["payouts"] if p["kind"] in kinds]
        if state["status"] == "closed" and state["closing_reason"] != "completed":
            raise DriveError(f"the case closed unexpectedly ({state['closing_reason']})")
        if len(payouts) == len(kinds) and all(p["status"] == "paid" for p in payouts):
            return state
        rejected = [p for p in payouts if p["status"] == "rejected"]
        if rejected:
            raise DriveError(f"payout {rejected[0]['kind']} was rejected")
        return None

    def closed(self, case_id: str) -> dict[str, Any] | None:
        state = self.case(case_id)
        if state["status"] != "closed":
            return None
        if state["closing_reason"] != "completed":
            raise DriveError(f"the case closed as '{state['closing_reason']}', not 'completed'")
        return state

    def approve(self, case_id: str, kind: str) -> dict[str, Any]:
        claim = self.wait(f"the {kind} claim of {case_id} in Wonen-Vlaanderen's inbox",
                          lambda: self.claim_in_inbox(case_id, kind))
        self.call("POST", f"/v1/claims/{claim['claim_id']}/decision", self.wv, key=f"approve-{kind}",
                  json={"decision": "approve", "reason": "Checked by drive_fbu_case.py"})
        return claim

    # ---- the whole case ---------------------------------------------------------------------------------

    def drive(self) -> dict[str, Any]:
        today = date.today()
        case_id = self.open_case(today)
        step(f"case opened: {case_id} (arrears {money(self.arrears)}, {self.org})")

        agreement = self.agreement(today)
        self.call("PUT", f"/v1/fbu/cases/{case_id}/agreement", self.ocmw, json=agreement, key="agreement")
        step(f"agreement drafted: landlord payment {agreement['landlord_payment']} + {PLAN_MONTHS} monthly "
             f"instalments of {agreement['plan'][0]['amount']} = {money(self.arrears)}")

        for party in ("tenant", "landlord", "ocmw"):
            result = self.call("POST", f"/v1/fbu/cases/{case_id}/signatures", self.ocmw, key=f"sign-{party}",
                               json={"party": party, "evidence": "Signed on paper at the OCMW office"})
            step(f"signed by the {party}")
        if result["status"] != "in_force":
            raise DriveError(f"after three signatures the case is '{result['status']}', not 'in_force'")
        step(f"agreement in force (rule set {self.case(case_id)['rule_set_id']})")

        claim = self.approve(case_id, "initial")
        parts = " + ".join(f"{p['kind']} {money(p['amount'])}" for p in claim["payouts"])
        step(f"initial claim {claim['claim_id']} approved ({parts} = {money(claim['amount'])})")

        state = self.wait("forfait and tranche 1 to be paid", lambda: self.paid(case_id, ("forfait", "tranche_1")))
        payment = next(p["payment_id"] for p in state["payouts"] if p["kind"] == "tranche_1")
        step(f"forfait and tranche 1 paid (payment {payment})")

        self.call("POST", f"/v1/fbu/cases/{case_id}/stable-housing", self.ocmw, key="stable-housing",
                  json={"reason": "Rent paid on time and the plan kept; the tenant can stay"})
        step("stable housing declared")

        claim = self.approve(case_id, "tranche_2")
        step(f"tranche 2 claim {claim['claim_id']} approved ({money(claim['amount'])})")

        state = self.wait(f"{case_id} to close as completed", lambda: self.closed(case_id))
        payment = next(p["payment_id"] for p in state["payouts"] if p["kind"] == "tranche_2")
        step(f"tranche 2 paid (payment {payment}); case closed (completed)")
        return state


def summary(state: dict[str, Any], took: float) -> None:
    payouts = state["payouts"]
    total = sum((Decimal(str(p["amount"])) for p in payouts), Decimal("0.00"))
    payments = sorted({p["payment_id"] for p in payouts if p["payment_id"]})
    print(f"\nCase {state['case_id']}: {state['status']} ({state['closing_reason']}), rule set {state['rule_set_id']}, "
          f"arrears {money(state['arrears_amount'])}, {took:.1f} s")
    for p in payouts:
        print(f"  {p['kind']:<10} {money(p['amount']):>9}  {p['status']:<6} payment {p['payment_id']}  "
              f"claim {p['claim_id']}")
    print(f"  {'total':<10} {money(total):>9}  in {len(payments)} payments", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive one FBU case over HTTP, from opening to tranche 2 paid.")
    parser.add_argument("--api", default=default_api(),
                        help="the API's base URL (default: http://127.0.0.1:$VANGNET_API_PORT, else port 8000)")
    parser.add_argument("--arrears", default="2400.00", help="the rent arrears in euro (default 2400.00)")
    parser.add_argument("--org", default=OCMW, help=f"the OCMW that opens the case (default {OCMW})")
    parser.add_argument("--timeout", type=float, default=60, help="seconds each wait may take (default 60)")
    args = parser.parse_args(argv)
    try:
        arrears = Decimal(args.arrears)
    except InvalidOperation:
        parser.error(f"--arrears must be an amount like 2400.00, not {args.arrears!r}")
    if arrears <= 0 or arrears != arrears.quantize(Decimal("0.01")):
        parser.error("--arrears must be positive with at most two decimals")
    tolerate_any_terminal()
    started = time.monotonic()
    try:
        state = Drive(args.api.rstrip("/"), arrears, args.timeout, args.org).drive()
    except DriveError as exc:
        print(f"✗ {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("✗ interrupted", file=sys.stderr)
        return 130
    summary(state, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
