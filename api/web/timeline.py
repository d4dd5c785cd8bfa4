"""The case timeline drawn as SVG: past domain events and upcoming deadlines on one time axis.

Layout only (positions and label lanes); the template draws it. Labels that would overlap go to the next lane up
(events) or down (deadlines), so events on the same day stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from api.web.i18n import month

WIDTH, MARGIN, LANE, CHAR = 1000, 16, 17, 6.6
MAX_LANES = 14  # beyond this, a day's labels are only in the list under the drawing


@dataclass
class Mark:
    on: date
    label: str
    kind: str  # "event" or "deadline"
    x: float = 0
    lane: int = 0
    anchor: str = "start"
    label_y: float = 0

    @property
    def text(self) -> str:
        """What the drawing shows: the label and its day (``Getekend · 30/11``)."""
        return f"{self.label} · {self.on.day}/{self.on.month}"


@dataclass
class Timeline:
    marks: list[Mark]
    ticks: list[tuple[float, str]]
    today_x: float
    axis_y: float
    height: float
    width: int = WIDTH
    hidden: list[Mark] = field(default_factory=list)


def layout(events: list[tuple[date, str]], deadlines: list[tuple[date, str]], today: date) -> Timeline:
    dates = [d for d, _ in events + deadlines] + [today]
    start, end = min(dates), max(dates)
    if (end - start).days < 30:
        end = start + timedelta(days=30)
    span = (end - start).days or 1

    def x_of(d: date) -> float:
        return MARGIN + (WIDTH - 2 * MARGIN) * (d - start).days / span

    up = _lanes([Mark(d, label, "event", x_of(d)) for d, label in sorted(events, key=lambda e: e[0])])
    down = _lanes([Mark(d, label, "deadline", x_of(d)) for d, label in sorted(deadlines)])
    lanes_up = max((m.lane for m in up), default=0) + 1
    lanes_down = max((m.lane for m in down), default=0) + 1
    axis_y = 14 + lanes_up * LANE + 10
    for m in up:
        m.label_y = axis_y - 14 - m.lane * LANE
    for m in down:
        m.label_y = axis_y + 24 + m.lane * LANE
    ticks = []
    first = date(start.year, start.month, 1)
    while first <= end:
        if first >= start:
            ticks.append((x_of(first), month(first)))
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    marks = [m for m in up + down if m.lane < MAX_LANES]
    return Timeline(marks=marks, ticks=ticks, today_x=x_of(today), axis_y=axis_y,
                    height=axis_y + 30 + lanes_down * LANE, hidden=[m for m in up + down if m.lane >= MAX_LANES])


def _lanes(marks: list[Mark]) -> list[Mark]:
    """Greedy: each label takes the lowest lane where it does not overlap the previous label of that lane."""
    ends: list[float] = []
    for m in marks:
        width = len(m.text) * CHAR + 8
        left = m.x
        if m.x + width > WIDTH - 2:
            m.anchor, left = "end", m.x - width
        right = left + width
        lane = next((i for i, e in enumerate(ends) if e <= left), len(ends))
        if lane == len(ends):
            ends.append(right)
        else:
            ends[lane] = right
        m.lane = lane
    return marks
