"""``vangnet rules winter-ban …``: the winter ban on disconnections per winter, and extending it without a release.

``extend`` writes the operator's energy rule book (``VANGNET_ENERGY_RULES_FILE``, else the packaged copy): the
workers read the file again when it changes, and a case whose disconnection waits for the old end moves to the new
end when that day comes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from schemas.calendar import brussels_date
from vangnet.cli.common import guarded, parse_date
from vangnet.platform.settings import get_settings
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, load_energy_rule_book
from vangnet.rulebooks.winter_windows import extend_winter_window, parse_winter, windows_per_winter

winter_ban_app = typer.Typer(help="The winter ban on disconnections, one window per winter.", no_args_is_help=True)


def _book_path() -> Path:
    return get_settings().energy_rules_file or DEFAULT_ENERGY_RULES


@winter_ban_app.command("list")
def winter_ban_list(
    since: Annotated[str | None, typer.Option("--from", help="First winter, e.g. 2016-2017 (default: the "
                                                             "earliest winter with its own window).")] = None,
    to: Annotated[str | None, typer.Option(help="Last winter (default: the coming one).")] = None,
) -> None:
    """Print the ban of every winter in the range, one JSON line each: its window, the rule that set it and the
    source (``winter_ban/2016-2017`` is a winter's own window, ``winter_ban@…`` the recurring one)."""

    def run() -> None:
        book = load_energy_rule_book(_book_path())
        today = brussels_date(datetime.now(UTC))
        own = [entry.start_year for entry in book.winter_windows_of("winter_ban")]
        first = parse_winter(since) if since else min(own, default=today.year - 1)
        last = parse_winter(to) if to else (today.year if today.month >= 7 else today.year - 1) + 1
        for w in windows_per_winter(book, first, last):
            typer.echo(json.dumps({"winter": w.winter, "start": w.start.isoformat(), "end": w.end.isoformat(),
                                   "disconnections_from": (w.end + timedelta(days=1)).isoformat(),
                                   "rule": w.id, "source": w.source}, ensure_ascii=False))

    guarded(run)


@winter_ban_app.command("extend")
def winter_ban_extend(
    winter: Annotated[str, typer.Option(help="The winter, e.g. 2026-2027.")],
    until: Annotated[str, typer.Option(help="Last day of the ban, inclusive (YYYY-MM-DD).")],
    source: Annotated[str, typer.Option(help="Where the extension was published (decision, date, reference).")],
    start: Annotated[str | None, typer.Option(help="First day, if the ban also starts earlier (YYYY-MM-DD).")] = None,
    replace: Annotated[bool, typer.Option(help="Correct the winter's own window even if it ends earlier.")] = False,
) -> None:
    """Extend one winter's ban and write the rule book (validated whole, replaced atomically)."""
    end = parse_date(until, "--until")
    first = parse_date(start, "--start") if start else None

    def run() -> None:
        path = _book_path()
        entry = extend_winter_window(path, winter=winter, until=end, source=source, start=first, replace=replace)
        if get_settings().energy_rules_file is None:
            typer.secho(f"note: wrote the packaged rule book {path}; an upgrade replaces it. Keep your own copy "
                        "and point VANGNET_ENERGY_RULES_FILE at it.", err=True, fg=typer.colors.YELLOW)
        typer.echo(json.dumps({"written": str(path), "rule": entry.id, "start": entry.start.isoformat(),
                               "end": entry.end.isoformat(), "source": entry.source}, ensure_ascii=False))

    guarded(run)
