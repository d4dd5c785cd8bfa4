"""Repayment-plan follow-up: which instalments were kept, which are late, when the plan is breached.

Pure functions of the plan, the repayments and a date, so the workflow and the tests share one definition:
- an instalment is *kept* when everything due up to and including it was paid on or before its due date;
- it is *breached* when, ``grace_days`` after its due date, what was paid by then still does not cover it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

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
