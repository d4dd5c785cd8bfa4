"""Dated versions of rules (rule sets, credit periods): which one covers a day, and whether a list of them follows
on without overlap or gap. Shared by the FBU, energy and retention rule books; pure, like them.

``valid_from`` and ``valid_until`` are inclusive; ``valid_until`` None means open-ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Protocol, TypeVar


class Dated(Protocol):
    @property
    def valid_from(self) -> date: ...

    @property
    def valid_until(self) -> date | None: ...


class DatedRuleSet(Dated, Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=DatedRuleSet)


def covers(item: Dated, on: date) -> bool:
    """Whether ``on`` falls in the item's validity (both ends inclusive)."""
    return item.valid_from <= on and (item.valid_until is None or on <= item.valid_until)


def check_until(name: str, valid_from: date, valid_until: date | None) -> None:
    if valid_until is not None and valid_until < valid_from:
        raise ValueError(f"{name}: valid_until {valid_until} is before valid_from {valid_from}")


def check_contiguous(items: Sequence[Dated], names: Sequence[str], what: str) -> None:
    """Sorted by valid_from, no overlap, no gap, and only the last one open-ended."""
    for (previous, previous_name), (following, following_name) in pairwise(zip(items, names, strict=True)):
        if following.valid_from <= previous.valid_from:
            raise ValueError(
                f"{what} must be sorted by valid_from: {following_name} ({following.valid_from}) comes after "
                f"{previous_name} ({previous.valid_from})"
            )
        if previous.valid_until is None:
            raise ValueError(
                f"{what}: {previous_name} is open-ended (valid_until null) but {following_name} follows it; "
                f"only the last one may be open-ended"
            )
        if following.valid_from <= previous.valid_until:
            raise ValueError(
                f"{what}: {previous_name} and {following_name} overlap: {previous_name} runs until "
                f"{previous.valid_until}, {following_name} starts {following.valid_from}"
            )
        if following.valid_from != previous.valid_until + timedelta(days=1):
            raise ValueError(
                f"{what}: gap between {previous_name} and {following_name}: nothing covers "
                f"{previous.valid_until + timedelta(days=1)} to {following.valid_from - timedelta(days=1)}"
            )


def select_covering(rule_sets: Sequence[R], on: date, *, what: str, subject: str, error: type[Exception],
                    first_label: str = "the first rule set") -> R:
    """The rule set covering ``on`` (a validated book has at most one), or ``error`` saying why none does:
    before the first one, or after a last one that has ended and must be followed by a new one.

    ``what`` names the kind ("energy rule set"), ``subject`` the day as the reader knows it ("a notice of
    default on 2026-11-23").
    """
    for rule_set in rule_sets:
        if covers(rule_set, on):
            return rule_set
    first, last = rule_sets[0], rule_sets[-1]
    if on < first.valid_from:
        raise error(f"No {what} covers {subject}: {first_label} ({first.id}) starts {first.valid_from.isoformat()}.")
    raise error(
        f"No {what} covers {subject}: the last rule set ({last.id}) ended "
        f"{last.valid_until.isoformat() if last.valid_until else '?'}; the operator must add a rule set."
    )
