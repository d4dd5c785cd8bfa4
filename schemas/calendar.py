"""Calendar dates as the fund and the OCMWs count them: in Brussels local time.

Deadlines ("30 days after the last signature", "6 months of kept repayments") are calendar dates in Belgium,
while Temporal's clock and timers work in UTC instants. These helpers convert between the two; they are pure
(stdlib ``zoneinfo`` only, no clock), so workflows can use them with ``workflow.now()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels_date(instant: datetime) -> date:
    """The calendar date in Brussels at an instant.

    A naive datetime is refused: guessing its zone would silently shift dates by a day around midnight.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(BRUSSELS).date()


def brussels_midnight(d: date) -> datetime:
    """The UTC instant at which day ``d`` starts (00:00) in Brussels.

    The offset is taken for that very day, so it is 23:00 UTC the day before in winter and 22:00 UTC in
    summer, also on the days the clocks change (which happens at 02:00/03:00, never at midnight).
    """
    return datetime(d.year, d.month, d.day, tzinfo=BRUSSELS).astimezone(UTC)


def add_days(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar days (``n`` may be negative)."""
    return d + timedelta(days=n)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - timedelta(days=1)).day


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months, clamped to the end of a shorter month.

    2024-01-31 plus one month is 2024-02-29: a period "of one month" must not spill into the month after.
    """
    index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError(f"{d.isoformat()} plus {n} months is out of the date range")
    return date(year, month, min(d.day, _days_in_month(year, month)))
