"""The FBU case's status transitions, as one table: what the workflow checks and applies, and what the docs show.

A row is (from status, step, to status, when). A step is an OCMW update (``draft_agreement``, ``sign``, ...) or
something the case does itself (``open``, ``submit_claim``, ``signature_deadline``, ``plan_check``,
``tranche_2_paid``). One step can lead to two statuses; ``when`` says which. A step with no row for the case's
status is out of order (409); ``record_repayment`` rows keep the status, they only say when the step is allowed.
"""

from __future__ import annotations

from typing import NamedTuple

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.fbu import CaseStatus, FbuCaseState

from workflows.common import out_of_order


class Transition(NamedTuple):
    source: CaseStatus
    step: str
    target: CaseStatus
    when: str


OPEN: tuple[CaseStatus, ...] = ("draft", "awaiting_signatures", "in_force", "plan_breached", "stable_housing")
AMENDMENT = "an amendment, under a rule set with amendable agreements (from fbu-2022)"
LAPSED = "an amendment lapses: the version signed before stays in force"
REPAID = "once an agreement was in force (also while an amendment waits for signatures)"

TRANSITIONS: tuple[Transition, ...] = (
    Transition("draft", "open", "closed", "not eligible under the rule set of the opening day nor under a later one "
                                          "(ineligible)"),
    Transition("draft", "draft_agreement", "awaiting_signatures", "version 1 of the agreement"),
    Transition("awaiting_signatures", "draft_agreement", "awaiting_signatures", "a new version replaces it"),
    Transition("awaiting_signatures", "sign", "awaiting_signatures", "signatures still missing"),
    Transition("awaiting_signatures", "sign", "in_force", "the third signature; the initial claim follows"),
    Transition("awaiting_signatures", "refuse", "closed", "version 1: the case ends (signature_refused)"),
    Transition("awaiting_signatures", "refuse", "in_force", LAPSED),
    Transition("awaiting_signatures", "signature_deadline", "closed",
               "version 1 unsigned after its deadline (signature_deadline_passed)"),
    Transition("awaiting_signatures", "signature_deadline", "in_force", LAPSED),
    Transition("in_force", "submit_claim", "closed", "not eligible under the rule set of the submission day "
                                                     "(ineligible)"),
    Transition("in_force", "plan_check", "plan_breached", "an instalment still unpaid after the grace days"),
    Transition("in_force", "draft_agreement", "awaiting_signatures", AMENDMENT),
    Transition("plan_breached", "draft_agreement", "awaiting_signatures", AMENDMENT),
    Transition("in_force", "declare_stable_housing", "stable_housing", "once claimed; tranche 2 is claimed"),
    Transition("plan_breached", "declare_stable_housing", "closed",
               "once claimed; no tranche 2 (stable_housing_after_breach)"),
    Transition("stable_housing", "tranche_2_paid", "closed", "completed"),
    Transition("plan_breached", "close_plan_breached", "closed", "the OCMW closes for the breach (plan_breached)"),
    *(Transition(s, "close", "closed", "eviction_filed, tenant_moved or withdrawn") for s in OPEN),
    *(Transition(s, "record_repayment", s, REPAID)
      for s in ("awaiting_signatures", "in_force", "plan_breached", "stable_housing")),
)


def allows(status: CaseStatus, step: str) -> bool:
    """Whether ``step`` may be taken while the case is ``status``."""
    return any(t.source == status and t.step == step for t in TRANSITIONS)


def move(case: FbuCaseState, step: str, target: CaseStatus) -> None:
    """Apply a transition of the table; one that is not in it (a step raced by another) is refused as a 409."""
    if (case.status, step, target) not in {(t.source, t.step, t.target) for t in TRANSITIONS}:
        raise out_of_order(f"The step '{step}' cannot take the case from '{case.status}' to '{target}'.")
    case.status = target


def markdown() -> str:
    """The table for docs/architecture.md."""
    rows = [f"| `{t.source}` | `{t.step}` | `{t.target}` | {t.when} |" for t in TRANSITIONS]
    return "\n".join(["| From | Step | To | When |", "|---|---|---|---|", *rows]) + "\n"
