"""The phases of an energy case and what moves it between them, as one table (domain.md §2).

``TRANSITIONS`` lists every allowed (from phase, trigger, to phase). A row whose phase stays the same is a step the
case accepts in that phase without moving on. The workflow asks ``allows`` before an OCMW step and moves the case
with ``enter``; ``tests/workflows/test_energy_phases.py`` checks the table against the workflow, and
``markdown_table`` renders it for docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.energy import EnergyCaseState, Phase

START = "start"  # the phase before the case exists
OPEN: tuple[Phase, ...] = ("notice_period", "awaiting_takeover", "social_supplier", "prepayment")
NETBEHEERDER_SUPPLIES: tuple[Phase, ...] = ("social_supplier", "prepayment")


class Transition(NamedTuple):
    source: str  # a Phase, or START
    trigger: str
    target: Phase
    by: str  # what brings the trigger: the calendar, an OCMW step (update name) or a netbeheerder callback


def _rows(sources: Iterable[Phase], trigger: str, target: Phase | None, by: str) -> list[Transition]:
    """One row per source phase; ``target=None`` means the case stays in its phase."""
    return [Transition(p, trigger, target or p, by) for p in sources]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(START, "case_opened", "notice_period", "notice of default (POST /v1/energy/cases)"),
    # The supplier's notice period: it ends by the calendar, by the supplier, or because a callback reports the
    # netbeheerder already took over.
    Transition("notice_period", "notice_period_expired", "awaiting_takeover", "calendar"),
    Transition("notice_period", "supplier_ended_contract", "awaiting_takeover", "update supplier_event"),
    Transition("notice_period", "takeover_reported", "awaiting_takeover",
               "callback takeover_confirmed, invoice_issued or prepayment_activated"),
    *_rows(["notice_period"], "payment_received", "closed", "update supplier_event"),
    *_rows(["notice_period"], "payment_plan_agreed", "closed", "update supplier_event"),
    *_rows(["notice_period"], "new_supplier_found", "closed", "update supplier_event"),
    # The netbeheerder as social supplier.
    Transition("awaiting_takeover", "takeover_confirmed", "social_supplier", "callback takeover_confirmed"),
    Transition("awaiting_takeover", "takeover_inferred", "social_supplier",
               "callback invoice_issued or prepayment_activated"),
    *_rows(["social_supplier"], "request_prepayment", None, "update request_prepayment"),
    # Prepayment, with emergency credit.
    Transition("social_supplier", "prepayment_activated", "prepayment", "callback prepayment_activated"),
    # Follow-up: the LAC (and the winter ban), winter heating support.
    *_rows(NETBEHEERDER_SUPPLIES, "lac_request", None, "update lac_request"),
    *_rows(NETBEHEERDER_SUPPLIES, "lac_advice", None, "update lac_advice"),
    # Minimal supply switched off on LAC advice, back on the customer's request (restore rule before 2022-07-01).
    *_rows(NETBEHEERDER_SUPPLIES, "minimal_supply_restore_request", None, "update minimal_supply_restore_request"),
    *_rows(["prepayment"], "winter_support_apply", None, "update winter_support_apply"),
    *_rows(["prepayment"], "winter_support_decision", None, "update winter_support_decision"),
    # Closing.
    *_rows(OPEN, "close", "closed", "update close"),
    *_rows(OPEN, "debt_paid", "closed", "callback debt_updated (total 0)"),
    *_rows(OPEN, "customer_left", "closed", "callback customer_left"),
)

_ALLOWED = {(t.source, t.trigger): t.target for t in TRANSITIONS}
TARGETS: dict[str, Phase] = {t.trigger: t.target for t in TRANSITIONS if t.source != t.target}


def allows(phase: str, trigger: str) -> bool:
    """Whether the table has a row for ``trigger`` in ``phase``."""
    return (phase, trigger) in _ALLOWED


def enter(state: EnergyCaseState, trigger: str) -> None:
    """Move the case to the phase ``trigger`` leads to (each phase-changing trigger has one target)."""
    if not allows(state.phase, trigger):  # a step validated before a concurrent one moved the case; kept as before
        workflow.logger.warning("phase change outside the table: %s --%s-->", state.phase, trigger)
    state.phase = TARGETS[trigger]


def opening_phase() -> Phase:
    return _ALLOWED[(START, "case_opened")]


def markdown_table() -> str:
    """The table for docs/architecture.md: one line per trigger and target, its source phases together."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for t in TRANSITIONS:
        target = "(stays)" if t.target == t.source else f"`{t.target}`"
        grouped.setdefault((t.trigger, target, t.by), []).append(f"`{t.source}`")
    lines = ["| From | Trigger | To | By |", "|---|---|---|---|"]
    lines += [f"| {', '.join(sources)} | `{trigger}` | {target} | {by} |"
              for (trigger, target, by), sources in grouped.items()]
    return "\n".join(lines) + "\n"
