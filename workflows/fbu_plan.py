"""Repayment-plan follow-up: which instalments were kept, which are late, when the plan is breached.

Pure functions of the plan, the repayments and a date, so the workflow and the tests share one definition:
- an instalment is *kept* when everything due up to and including it was paid on or before its due date;
- it is *breached* when, ``grace_days`` after its due date, what was paid by then still does not cover it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from schemas.calendar import add_months
from schemas.common import Deadline
from schemas.fbu import FbuCaseState, InstalmentProgress, InstalmentStatus, PlanItem, PlanProgress, Repayment


def paid_by(repayments: Sequence[Repayment], day: date) -> Decimal:
    return sum((r.amount for r in repayments if r.paid_on <= day), Decimal("0.00"))


def progress(plan: Sequence[PlanItem], repayments: Sequence[Repayment], on: date, grace_days: int) -> PlanProgress:
    """Status of every instalment as seen at the start of day ``on`` (an instalment due on ``on`` is upcoming)."""
    total = sum((i.amount for i in plan), Decimal("0.00"))
    repaid = paid_by(repayments, on)
    cumulative = Decimal("0.00")
    rows: list[InstalmentProgress] = []
    run = 0
    for item in plan:
        cumulative += item.amount
        grace_end = item.due_on + timedelta(days=grace_days)
        status: InstalmentStatus
        if item.due_on >= on:
            status = "upcoming"
        elif paid_by(repayments, item.due_on) >= cumulative:
            status = "kept"
        elif paid_by(repayments, min(grace_end, on)) >= cumulative:
            status = "paid_late"
        elif on > grace_end:
            status = "breached"
        else:
            status = "late"
        if status != "upcoming":
            run = run + 1 if status == "kept" else 0
        rows.append(InstalmentProgress(due_on=item.due_on, amount=item.amount, status=status))
    return PlanProgress(
        plan_total=total,
        repaid_total=repaid,
        remaining=max(total - repaid, Decimal("0.00")),
        consecutive_kept=run,
        completed=repaid >= total,
        instalments=rows,
    )


def caught_up_on(repayments: Sequence[Repayment], amount: Decimal) -> date | None:
    """The first day by which the repayments add up to ``amount`` (None while they do not)."""
    paid = Decimal("0.00")
    for repayment in sorted(repayments, key=lambda r: r.paid_on):
        paid += repayment.amount
        if paid >= amount:
            return repayment.paid_on
    return None


def kept_since(plan: Sequence[PlanItem], repayments: Sequence[Repayment], kept_from: date, on: date,
               months: int) -> date | None:
    """Since when the plan has been kept without a late instalment, as known on day ``on``, for the stable-housing
    proposal: it falls due ``months`` calendar months after that day, whatever the instalment rhythm (monthly,
    quarterly, irregular).

    The count starts on ``kept_from`` (the day the agreement version in force came into force). An instalment not
    covered on its due date is late: the count restarts on the day the repayments catch up with it, and while an
    instalment due before ``on`` is still not covered there is no date (None). An instalment due on or after the
    day the count reaches ``months`` does not matter any more: by then the proposal was due.
    """
    since = kept_from
    cumulative = Decimal("0.00")
    for item in plan:
        cumulative += item.amount
        if item.due_on >= on or item.due_on >= add_months(since, months):
            break
        if paid_by(repayments, item.due_on) >= cumulative:
            continue
        caught = caught_up_on(repayments, cumulative)
        if caught is None or caught > on:
            return None
        since = max(since, caught)
    return since


def stable_housing_due(plan: Sequence[PlanItem], repayments: Sequence[Repayment], kept_from: date, on: date,
                       months: int) -> date | None:
    """The day the stable-housing proposal falls due (``kept_since`` plus ``months`` calendar months), if counting."""
    since = kept_since(plan, repayments, kept_from, on, months)
    return add_months(since, months) if since is not None else None


def first_breach(plan: Sequence[PlanItem], repayments: Sequence[Repayment], on: date, grace_days: int) -> date | None:
    """Due date of the first instalment that is more than ``grace_days`` late on ``on``, if any."""
    for item, row in zip(plan, progress(plan, repayments, on, grace_days).instalments, strict=True):
        if row.status == "breached":
            return item.due_on
    return None


def next_check(plan: Sequence[PlanItem], after: date, grace_days: int) -> date | None:
    """The next day on which the plan's state can change by time alone (a due date passes or a grace ends)."""
    candidates = [
        d for item in plan
        for d in (item.due_on + timedelta(days=1), item.due_on + timedelta(days=grace_days + 1))
        if d > after
    ]
    return min(candidates, default=None)


def deadlines(state: FbuCaseState, landlord_payment_due: date | None, on: date) -> list[Deadline]:
    """What the OCMW must watch on day ``on``: the signature deadline, the landlord payment, the next instalment.

    Shared by the workflow (its debugging query) and the read side (the case document served by the API)."""
    out: list[Deadline] = []
    if state.status == "closed" or state.agreement is None:
        return out
    if state.status == "awaiting_signatures":
        out.append(Deadline(kind="signature_deadline", due_on=state.agreement.signature_deadline))
    if landlord_payment_due is not None and landlord_payment_due >= on:
        out.append(Deadline(kind="landlord_payment", due_on=landlord_payment_due))
    if state.status == "in_force":
        upcoming = [i.due_on for i in state.agreement.plan if i.due_on >= on]
        if upcoming:
            out.append(Deadline(kind="next_instalment", due_on=upcoming[0]))
    return out
