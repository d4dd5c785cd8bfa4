"""``vangnet rules …``: the dated rule sets, and what they compute for a given day."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from schemas.calendar import brussels_date
from schemas.common import NoRuleSetError
from schemas.energy_rules import (
    NoEuroCreditError,
    credit_index_factor,
    credit_index_years_not_set,
    emergency_credit,
    heating_support_open,
    in_winter_ban,
    index_not_set_note,
    select_energy_rule_set,
    winter_ban_in_force,
)
from schemas.fbu_rules import check_eligibility, compute_payouts, rent_checks, rent_free_reasons, select_rule_set
from schemas.money import has_cents_only
from vangnet.cli.common import fail, guarded, parse_date
from vangnet.cli.winter_ban import winter_ban_app
from vangnet.platform.settings import get_settings
from vangnet.rulebooks.credit_index import set_credit_index
from vangnet.rulebooks.rulebook import load_energy_rule_book, load_fbu_rule_book

rules_app = typer.Typer(help="Inspect the dated rule sets; extend a winter ban; set the yearly emergency credit index.",
                        no_args_is_help=True)
rules_app.add_typer(winter_ban_app, name="winter-ban")


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
    if amount <= 0 or not has_cents_only(amount):
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
        index: dict[str, Any] | None = None
        try:
            grants = {e: emergency_credit(book, e, day) for e in ("electricity", "gas")}
        except NoEuroCreditError as exc:
            credit = {"unit": "kwh", "note": str(exc)}
        else:
            credit = {e: str(grant.amount) for e, grant in grants.items()}
            grant = grants["gas"]
            index = {"indexed": grant.indexed, "year": grant.index_year,
                     "factor": None if grant.index_factor is None else str(grant.index_factor),
                     "index_set": grant.index_set, "note": grant.note()}
        out = {"rule_set": rs.model_dump(mode="json"), "emergency_credit_eur": credit, "emergency_credit_index": index,
               "in_winter_ban": in_winter_ban(book, day), "heating_support_open": heating_support_open(book, day)}
        ban = winter_ban_in_force(book, day)
        if ban is not None:
            out["winter_ban"] = {"rule": ban.id, "start": str(ban.start), "end": str(ban.end), "source": ban.source}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)


@rules_app.command("credit-index")
def rules_credit_index(
    through: Annotated[int | None, typer.Option(help="Last year to list (default: this year).")] = None,
) -> None:
    """List the emergency credit index factor of each year, as JSON; a year not set says so."""
    settings = get_settings()

    def run() -> None:
        book = load_energy_rule_book(settings.energy_rules_file)
        last = through or brussels_date(datetime.now(UTC)).year
        listed = {index.year: index for index in book.credit_index}
        first = min([p.valid_from.year for p in book.emergency_credit_periods if p.indexed] + [*listed, last])
        for year in range(first, last + 1):
            index = listed.get(year)
            factor = credit_index_factor(book, year)
            note = index_not_set_note(year) if factor is None else None
            typer.echo(json.dumps({"year": year, "factor": None if factor is None else str(factor),
                                   "set": factor is not None, "note": note,
                                   "source": index.source if index else None}, ensure_ascii=False))
        not_set = credit_index_years_not_set(book, last)
        if not_set:
            typer.echo(f"index not set for {', '.join(map(str, not_set))}: the unindexed base is granted", err=True)

    guarded(run)


@rules_app.command("set-credit-index")
def rules_set_credit_index(
    year: Annotated[int, typer.Option(help="Calendar year the factor applies to.")],
    factor: Annotated[str, typer.Option(help="Cumulative factor on the base amount, like 1.0432.")],
    source: Annotated[str, typer.Option(help="Where the published value comes from.")],
    replace: Annotated[bool, typer.Option(help="Change a factor that is already set.")] = False,
) -> None:
    """Set a year's emergency credit index factor in the energy rule file (validated whole, written atomically)."""
    settings = get_settings()
    try:
        value = Decimal(factor)
    except InvalidOperation:
        raise fail(f"--factor must be a number like 1.0432, not '{factor}'") from None
    if not source.strip():
        raise fail("--source must say where the value was published")

    def run() -> None:
        set_credit_index(settings.energy_rules_file, year, value, source.strip(), replace=replace)
        typer.echo(json.dumps({"year": year, "factor": str(value), "set": True}))

    guarded(run)


@rules_app.command("fbu")
def rules_fbu(
    submitted_on: Annotated[str, typer.Option(help="Submission date of the signed agreement (YYYY-MM-DD).")],
    arrears: Annotated[str, typer.Option(help="Arrears amount in euro.")],
    monthly_rent: Annotated[str | None, typer.Option(help="Monthly rent (else: months check skipped).")] = None,
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
                                   monthly_rent=rent, book=book)
            out["eligibility"] = el.model_dump(mode="json") | {"skipped": []}
        else:  # every rule that needs no rent still applies; the rent checks are named as skipped
            reasons = rent_free_reasons(rs, market=market, arrears_since=since, book=book)  # type: ignore[arg-type]
            skipped = [f"{check} Give --monthly-rent to check it." for check in rent_checks(rs)]
            eligible = False if reasons else (None if skipped else True)
            out["eligibility"] = {"rule_set_id": rs.id, "eligible": eligible, "reasons": reasons,
                                  "skipped": skipped, "arrears_months": None}
        out["payouts"] = compute_payouts(rs, amount).model_dump(mode="json")
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))

    guarded(run)
