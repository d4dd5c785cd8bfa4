"""Seasonal windows: the winter ban on disconnections and the heating-support application period.

They recur every year on fixed month-days; a window version applies to the winters starting on or after its
``valid_from``, and a later version of the same window takes over from there. A winter may also have its own dated
window (``WinterWindow``: an extension such as the ban to 31 March in 2016-2017, with its source); a winter without
one has the recurring window. Split from ``schemas.energy_rules`` (which re-exports every name); pure like the rest
of ``schemas``: it runs inside Temporal workflows.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, NamedTuple, Protocol

from pydantic import Field, model_validator

from schemas.common import Frozen

Month = Annotated[int, Field(ge=1, le=12)]
DayOfMonth = Annotated[int, Field(ge=1, le=31)]

WINTER_BAN = "winter_ban"
HEATING_SUPPORT_APPLICATION = "heating_support_application"
REQUIRED_WINDOWS = (WINTER_BAN, HEATING_SUPPORT_APPLICATION)

_LEAP_YEAR = 2000  # used only to check that a month-day exists at all (29 February does in a leap year)
_COMMON_YEAR = 2001  # used to check that a start month-day exists in every year


# ---- seasonal windows ---------------------------------------------------------------------------------------


class SeasonalWindow(Frozen):
    """A window that recurs every year from one month-day to another, both inclusive.

    A window whose end month-day comes before its start month-day runs over New Year (1 December to end of
    February). ``end_day`` 29 in February means the end of February: 29 February in leap years, 28 otherwise;
    any other end day must exist in its month. The window applies to the occurrences (winters) starting on or
    after ``valid_from``; a later version with the same ``id`` takes over for the winters starting on or after
    its own ``valid_from``.
    """

    id: str = Field(min_length=1, max_length=64, examples=[WINTER_BAN])
    start_month: Month
    start_day: DayOfMonth
    end_month: Month
    end_day: DayOfMonth
    valid_from: date
    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_days(self) -> SeasonalWindow:
        if self.start_day > calendar.monthrange(_COMMON_YEAR, self.start_month)[1]:
            raise ValueError(
                f"window {self.id}: start {self.start_month:02d}-{self.start_day:02d} does not exist every year"
            )
        if self.end_day > calendar.monthrange(_LEAP_YEAR, self.end_month)[1]:
            raise ValueError(f"window {self.id}: end {self.end_month:02d}-{self.end_day:02d} does not exist")
        return self

    @property
    def wraps_year(self) -> bool:
        """Whether the window runs over New Year (its end month-day is before its start month-day)."""
        return (self.end_month, self.end_day) < (self.start_month, self.start_day)

    def occurrence(self, start_year: int) -> tuple[date, date] | None:
        """First and last day of the occurrence starting in ``start_year``; None if before ``valid_from``."""
        start = date(start_year, self.start_month, self.start_day)
        if start < self.valid_from:
            return None
        end_year = start_year + 1 if self.wraps_year else start_year
        last_day = min(self.end_day, calendar.monthrange(end_year, self.end_month)[1])
        return start, date(end_year, self.end_month, last_day)


def _containing(occurrences: Sequence[tuple[date, date] | None], on: date) -> tuple[date, date] | None:
    for occurrence in occurrences:
        if occurrence is not None and occurrence[0] <= on <= occurrence[1]:
            return occurrence
    return None


def in_window(window: SeasonalWindow, on: date) -> bool:
    """Whether ``on`` lies inside an occurrence of this one window version (ignoring later versions)."""
    return _containing([window.occurrence(on.year - 1), window.occurrence(on.year)], on) is not None


def window_end(window: SeasonalWindow, on: date) -> date:
    """The last day of the occurrence of ``window`` that contains ``on``; ValueError if ``on`` is outside."""
    occurrence = _containing([window.occurrence(on.year - 1), window.occurrence(on.year)], on)
    if occurrence is None:
        raise ValueError(f"{on.isoformat()} is not inside window {window.id}")
    return occurrence[1]


def next_window_start(window: SeasonalWindow, on: date) -> date:
    """The first day on or after ``on`` on which an occurrence of ``window`` starts."""
    for year in range(on.year, max(on.year, window.valid_from.year) + 2):
        occurrence = window.occurrence(year)
        if occurrence is not None and occurrence[0] >= on:
            return occurrence[0]
    raise AssertionError("unreachable: a window recurs every year from its valid_from")  # pragma: no cover


# ---- one winter's own window ---------------------------------------------------------------------------------


class WinterWindow(Frozen):
    """The dated window of one winter, replacing the recurring window for that winter only (both ends inclusive).

    E.g. the winter ban extended to 31 March in 2016-2017. It must contain the start of the recurring window of its
    winter and must not overlap the windows of the winters before and after it (checked with the whole book).
    """

    window: str = Field(WINTER_BAN, min_length=1, max_length=64, examples=[WINTER_BAN])
    winter: str = Field(pattern=r"^\d{4}-\d{4}$", examples=["2016-2017"])
    start: date
    end: date
    source: str = Field(min_length=1)
    assumptions: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """How events and errors name this entry, e.g. ``winter_ban/2016-2017``."""
        return f"{self.window}/{self.winter}"

    @property
    def start_year(self) -> int:
        return int(self.winter[:4])

    @model_validator(mode="after")
    def _check_dates(self) -> WinterWindow:
        if int(self.winter[5:]) != self.start_year + 1:
            raise ValueError(f"winter window {self.id}: a winter is two following years, like 2016-2017")
        if self.end < self.start:
            raise ValueError(f"winter window {self.id}: end {self.end} is before start {self.start}")
        if not (self.start_year <= self.start.year and self.end.year <= self.start_year + 1):
            raise ValueError(f"winter window {self.id}: {self.start}..{self.end} lies outside the winter")
        return self


class WindowInForce(NamedTuple):
    """One occurrence of a window as the book gives it: ``id`` names the rule that set it (a winter's own window,
    ``winter_ban/2016-2017``, or the recurring version, ``winter_ban@2010-11-19``) and ``source`` is its source."""

    id: str
    winter: str
    start: date
    end: date
    source: str


def winter_name(start_year: int) -> str:
    """``2016-2017`` for the winter starting in 2016."""
    return f"{start_year}-{start_year + 1}"


# ---- seasonal windows in the book ---------------------------------------------------------------------------


class HasSeasonalWindows(Protocol):
    """What this module reads of a rule book (the versions of its windows and the winters' own windows);
    ``EnergyRuleBook`` has it.

    A Protocol rather than the book itself, because the book (``schemas.energy_rules``) is built from this module's
    models and importing it here would make a cycle.
    """

    def window_versions(self, window_id: str) -> tuple[SeasonalWindow, ...]: ...

    def winter_windows_of(self, window_id: str) -> tuple[WinterWindow, ...]: ...


def _governing(book: HasSeasonalWindows, window_id: str, start_year: int) -> SeasonalWindow | None:
    """The newest version of a window whose occurrence starting in ``start_year`` is on/after its valid_from."""
    versions = book.window_versions(window_id)
    if not versions:
        raise KeyError(f"the rule book has no seasonal window {window_id!r}")
    for window in reversed(versions):
        if window.occurrence(start_year) is not None:
            return window
    return None


def _recurring(book: HasSeasonalWindows, window_id: str, start_year: int) -> WindowInForce | None:
    window = _governing(book, window_id, start_year)
    occurrence = window.occurrence(start_year) if window is not None else None
    if window is None or occurrence is None:
        return None
    return WindowInForce(f"{window_id}@{window.valid_from.isoformat()}", winter_name(start_year), *occurrence,
                         window.source)


def window_of_winter(book: HasSeasonalWindows, window_id: str, start_year: int) -> WindowInForce | None:
    """The window of the winter starting in ``start_year``: its own entry if it has one, else the recurring one."""
    for entry in book.winter_windows_of(window_id):
        if entry.start_year == start_year:
            return WindowInForce(entry.id, entry.winter, entry.start, entry.end, entry.source)
    return _recurring(book, window_id, start_year)


def _occurrence(book: HasSeasonalWindows, window_id: str, start_year: int) -> tuple[date, date] | None:
    found = window_of_winter(book, window_id, start_year)
    return (found.start, found.end) if found is not None else None


def window_in_force(book: HasSeasonalWindows, window_id: str, on: date) -> WindowInForce | None:
    """The occurrence of ``window_id`` containing ``on``, with the id and source of its rule; None if outside."""
    for year in (on.year - 1, on.year):
        found = window_of_winter(book, window_id, year)
        if found is not None and found.start <= on <= found.end:
            return found
    return None


def _book_containing(book: HasSeasonalWindows, window_id: str, on: date) -> tuple[date, date] | None:
    found = window_in_force(book, window_id, on)
    return (found.start, found.end) if found is not None else None


def in_seasonal_window(book: HasSeasonalWindows, window_id: str, on: date) -> bool:
    """Whether ``on`` lies inside the window ``window_id`` in force for its winter."""
    return _book_containing(book, window_id, on) is not None


def seasonal_window_end(book: HasSeasonalWindows, window_id: str, on: date) -> date:
    """The last day of the occurrence of ``window_id`` containing ``on``; ValueError if ``on`` is outside."""
    occurrence = _book_containing(book, window_id, on)
    if occurrence is None:
        raise ValueError(f"{on.isoformat()} is not inside the {window_id} window")
    return occurrence[1]


def next_seasonal_window_start(book: HasSeasonalWindows, window_id: str, on: date) -> date:
    """The first day on or after ``on`` on which an occurrence of ``window_id`` starts."""
    versions = book.window_versions(window_id)
    if not versions:
        raise KeyError(f"the rule book has no seasonal window {window_id!r}")
    latest = max(window.valid_from.year for window in versions)
    for year in range(on.year, max(on.year, latest) + 2):
        occurrence = _occurrence(book, window_id, year)
        if occurrence is not None and occurrence[0] >= on:
            return occurrence[0]
    raise AssertionError("unreachable: the newest window version recurs every year")  # pragma: no cover


def check_winter_windows(book: HasSeasonalWindows, entries: Sequence[WinterWindow], window_ids: set[str]) -> None:
    """The winters' own windows of a book: each of a known window, sorted by winter without repeats, containing the
    recurring window's start for its winter and overlapping neither the winter before nor the winter after it.
    ValueError naming the entry otherwise."""
    for entry in entries:
        if entry.window not in window_ids:
            raise ValueError(f"winter window {entry.id}: the book has no seasonal window {entry.window!r}")
    for window_id in sorted({entry.window for entry in entries}):
        own = book.winter_windows_of(window_id)
        for previous, following in pairwise(own):
            if following.start_year <= previous.start_year:
                raise ValueError(f"winter windows of {window_id} must be sorted by winter without repeats: "
                                 f"{following.winter} comes after {previous.winter}")
        for entry in own:
            base = _recurring(book, window_id, entry.start_year)
            if base is None:
                raise ValueError(f"winter window {entry.id}: no recurring {window_id} window applies to that winter")
            if not entry.start <= base.start <= entry.end:
                raise ValueError(f"winter window {entry.id}: {entry.start}..{entry.end} must contain the winter's "
                                 f"base start {base.start}")
            for year in (entry.start_year - 1, entry.start_year + 1):
                other = window_of_winter(book, window_id, year)
                if other is not None and other.start <= entry.end and entry.start <= other.end:
                    raise ValueError(f"winter window {entry.id}: {entry.start}..{entry.end} overlaps the window of "
                                     f"winter {other.winter} ({other.start}..{other.end}, {other.id})")


def in_winter_ban(book: HasSeasonalWindows, on: date) -> bool:
    """Whether ``on`` falls in the winter ban on disconnections."""
    return in_seasonal_window(book, WINTER_BAN, on)


def winter_ban_ends(book: HasSeasonalWindows, on: date) -> date:
    """The first day after the winter ban containing ``on``: when a deferred disconnection may be carried out.

    ValueError if ``on`` is not in the ban. Should a next occurrence follow without a free day, the answer is
    the first day outside both.
    """
    day = seasonal_window_end(book, WINTER_BAN, on) + timedelta(days=1)
    while in_winter_ban(book, day):
        day = seasonal_window_end(book, WINTER_BAN, day) + timedelta(days=1)
    return day


def winter_ban_in_force(book: HasSeasonalWindows, on: date) -> WindowInForce | None:
    """The winter ban containing ``on`` with the id and source of its rule; None outside the ban."""
    return window_in_force(book, WINTER_BAN, on)


def heating_support_open(book: HasSeasonalWindows, on: date) -> bool:
    """Whether winter heating support can be applied for on ``on`` (1 November to 31 March)."""
    return in_seasonal_window(book, HEATING_SUPPORT_APPLICATION, on)


def heating_support_ends(book: HasSeasonalWindows, on: date) -> date:
    """The last day (inclusive) of the heating-support window containing ``on``; ValueError if it is closed."""
    return seasonal_window_end(book, HEATING_SUPPORT_APPLICATION, on)


def next_heating_support_start(book: HasSeasonalWindows, on: date) -> date:
    """The first day on or after ``on`` on which the heating-support window opens."""
    return next_seasonal_window_start(book, HEATING_SUPPORT_APPLICATION, on)
