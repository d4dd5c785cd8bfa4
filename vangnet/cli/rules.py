"""``vangnet rules …``: the dated rule sets, and what they compute for a given day."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from schemas.common import NoRuleSetError
from schemas.energy_rules import (
    NoEuroCreditError,
    emergency_credit,
    heating_support_open,
    in_winter_ban,
    select_energy_rule_set,
)
from schemas.fbu_rules import check_eligibility, compute_payouts, select_rule_set
from vangnet.cli.common import fail, guarded, parse_date
from vangnet.platform.settings import get_settings
from vangnet.rulebooks.rulebook import load_energy_rule_book, load_fbu_rule_book

rules_app = typer.Typer(help="Inspect the dated rule sets.", no_args_is_help=True)


@rules_app.command("list")
def rules_list() -> None:
    """List the FBU rule sets with the dates they apply to."""
    settings = get_settings()

    def run() -> None:
        book = load_fbu_rule_book(settings.fbu_rules_file)
        for rs in book.rule_sets:
            until = rs.valid_until.isoformat() if rs.valid_until else "open-ended"
            typer.echo(json.dumps({"id": rs.id, "submitted_from": rs.valid_from.isoformat(),
                                   "submitted_until": until, "source": rs.source}))

    guarded(run)


def _parse_amount(value: str, what: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise fail(f"{what} must be an amount like 1250.00, not '{value}'") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise fail(f"{what} must be positive with at most two decimals")
    return amount


@rules_app.command("energy")
def rules_energy(
    on: Annotated[str, typer.Option(help="Date of the fact (YYYY-MM-DD): a notice of default, a takeover, an "
                                         "invoice's due date, a debt report, the day credit is granted.")],
) -> None:
    """Print the energy rule set in force on a date, with the emergency credit and the seasonal windows, as JSON.

    Each effect of a case applies the rule set in force on the day of its own fact (domain.md §2)."""
    settings = get_settings()
    day = parse_date(on, "--on")

    def run() -> None:
        book = load_energy_rule_book(settings.energy_rules_file)
        try:
            rs = select_energy_rule_set(book, day)
        except NoRuleSetError as exc:
            raise fail(str(exc)) from None
        credit: dict[str, Any]
        try:
            credit = {e: str(emergency_credit(book, e, day)) for e in ("electricity", "gas")}
        except NoEuroCreditError as exc:
            credit = {"unit": "kwh", "note": str(exc)}
        out = {"rule_set": rs.model_dump(mode="json"), "emergency_credit_eur": credit,
               "in_winter_ban": in_winter_ban(book, day), "heating_support_open": heating_support_open(book, day)}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)


@rules_app.command("fbu")
def rules_fbu(
    submitted_on: Annotated[str, typer.Option(help="Submission date of the signed agreement (YYYY-MM-DD).")],
    arrears: Annotated[str, typer.Option(help="Arrears amount in euro.")],
    monthly_rent: Annotated[str | None, typer.Option(help="Monthly rent, for the 2–6 months check.")] = None,
    market: Annotated[str, typer.Option(help="private | svk | social")] = "private",
    arrears_since: Annotated[str | None, typer.Option(help="When the arrears arose (default: submitted-on).")] = None,
) -> None:
    """Print the rule set, eligibility and the three payout amounts for a submission, as JSON."""
    settings = get_settings()
    on = parse_date(submitted_on, "--submitted-on")
    amount = _parse_amount(arrears, "--arrears")
    rent = _parse_amount(monthly_rent, "--monthly-rent") if monthly_rent else None
    since = parse_date(arrears_since, "--arrears-since") if arrears_since else on
    if market not in ("private", "svk", "social"):
        raise fail("--market must be private, svk or social")

    def run() -> None:
        book = load_fbu_rule_book(settings.fbu_rules_file)
        try:
            rs = select_rule_set(book, on)
        except NoRuleSetError as exc:
            raise fail(str(exc)) from None
        out: dict[str, Any] = {"rule_set": rs.model_dump(mode="json")}
        if rent is not None:
            el = check_eligibility(rs, market=market, arrears_amount=amount, arrears_since=since,  # type: ignore[arg-type]
                                   monthly_rent=rent)
            out["eligibility"] = el.model_dump(mode="json")
        else:
            out["eligibility"] = {"eligible": None, "reasons": ["Give --monthly-rent to check the arrears months."]}
        out["payouts"] = compute_payouts(rs, amount).model_dump(mode="json")
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)
