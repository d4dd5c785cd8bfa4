"""Working days in Belgium: no weekends, no Belgian public holidays.

The OCMW pays the landlord within a number of working days of signing (domain.md §1). Holidays come from the
maintained ``holidays`` library rather than a hand-typed list, because Easter-based holidays move every year.
Called from an activity, never imported by workflow code (the library is large and not sandbox-friendly).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _belgian_holidays(year: int) -> frozenset[date]:
    """Belgian public holidays of one year (cached: the list for a year never changes within a process)."""
    return frozenset(holidays.country_holidays("BE", years=year).keys())


def warm(today: date) -> None:
    """Load this year's and next year's holidays now. The first lookup of a year takes about 0.1 s (the library
    builds its calendar), which would otherwise fall on the first claim after a worker starts: inside that step,
    and inside the append lock when the case document's landlord payment day is projected."""
    for year in (today.year, today.year + 1):
        _belgian_holidays(year)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a Belgian public holiday."""
    return d.weekday() < 5 and d not in _belgian_holidays(d.year)


def add_working_days(d: date, n: int) -> date:
    """The date ``n`` working days after ``d`` (before it when ``n`` is negative).

    ``d`` itself is not counted, so the result of a positive ``n`` is always a working day later than ``d``;
    ``n == 0`` returns ``d`` unchanged.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    current = d
    while remaining:
        current += step
        if is_working_day(current):
            remaining -= 1
    return current
