"""Editing the winters' own windows in the energy rule book: an operator extends a winter's ban without a release.

``extend_winter_window`` reads the operator's file, adds (or, asked to, replaces) the entry of one winter, checks
the whole book as the workers will load it, and only then replaces the file atomically (``book_file``). Running
cases pick the change up when their deferred disconnection comes due (the workflow reads the
book again then; see ``workflows.energy_calendar``).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from schemas.energy_rules import (
    WINTER_BAN,
    EnergyRuleBook,
    WindowInForce,
    WinterWindow,
    window_of_winter,
    winter_name,
)
from vangnet.rulebooks.book_file import read_book_data, write_energy_book
from vangnet.rulebooks.rulebook import RuleBookError, load_energy_rule_book

WINTER = re.compile(r"^(\d{4})-(\d{4})$")


def parse_winter(value: str) -> int:
    """The start year of a winter written ``2026-2027``; RuleBookError otherwise."""
    match = WINTER.match(value.strip())
    if match is None or int(match.group(2)) != int(match.group(1)) + 1:
        raise RuleBookError(f"a winter is written as two following years, like 2026-2027, not '{value}'")
    return int(match.group(1))


def windows_per_winter(book: EnergyRuleBook, first: int, last: int, window: str = WINTER_BAN
                       ) -> list[WindowInForce]:
    """The window of every winter starting from ``first`` to ``last`` (inclusive) that has one."""
    found = (window_of_winter(book, window, year) for year in range(first, last + 1))
    return [w for w in found if w is not None]


def extend_winter_window(path: Path, *, winter: str, until: date, source: str, start: date | None = None,
                         window: str = WINTER_BAN, replace: bool = False) -> WinterWindow:
    """Give ``winter`` its own window ending on ``until`` (inclusive) and write the book; the entry written.

    Without ``replace`` it must be an extension: ``until`` after the winter's current end. ``start`` defaults to the
    winter's current start. RuleBookError with a message for the operator when anything does not fit.
    """
    start_year = parse_winter(winter)
    if len(source.strip()) < 3:
        raise RuleBookError("--source must say where the extension was published (e.g. the decision and its date)")
    book = load_energy_rule_book(path)  # the file must be a valid book before it is edited
    if window not in {w.id for w in book.seasonal_windows}:
        raise RuleBookError(f"the rule book has no seasonal window '{window}'")
    current = window_of_winter(book, window, start_year)
    if current is None:
        raise RuleBookError(f"no {window} window applies to winter {winter_name(start_year)} in {path}")
    if not replace and until <= current.end:
        raise RuleBookError(
            f"winter {current.winter} already runs until {current.end} ({current.id}); an extension must end "
            f"later (give --replace to correct an entry)")
    entry = {"window": window, "winter": winter_name(start_year), "start": (start or current.start).isoformat(),
             "end": until.isoformat(), "source": source.strip()}
    target = path.expanduser().resolve()
    data = read_book_data(target)
    entries = [e for e in data.get("winter_windows", [])
               if not (e.get("window", WINTER_BAN) == window and e.get("winter") == entry["winter"])]
    entries.append(entry)
    data["winter_windows"] = sorted(entries, key=lambda e: (str(e.get("window", WINTER_BAN)), str(e.get("winter"))))
    write_energy_book(target, data, f"The {window} window of winter {entry['winter']}")
    return WinterWindow.model_validate(entry)
