"""Setting a year's emergency credit index factor in the operator's energy rule book, without a code change
(validated whole and written atomically by ``vangnet.rulebooks.book_file``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.energy_rules import EnergyRuleBook
from vangnet.rulebooks.book_file import read_book_data, write_energy_book
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, RuleBookError


def set_credit_index(path: Path | None, year: int, factor: Decimal, source: str, *,
                     replace: bool = False) -> EnergyRuleBook:
    """Set ``year``'s factor (with its source) in the energy rule file and return the new, validated book.

    A year whose factor is already set is only changed with ``replace`` (a published value is corrected on
    purpose, not by a typo in the year)."""
    target = (path or DEFAULT_ENERGY_RULES).expanduser().resolve()
    data = read_book_data(target)
    entries: list[dict[str, Any]] = list(data.get("credit_index") or [])
    current = next((entry for entry in entries if entry.get("year") == year), None)
    if current is not None and current.get("factor") is not None and not replace:
        raise RuleBookError(f"The credit index of {year} is already set to {current['factor']}; "
                            "give --replace to change it.")
    entries = [entry for entry in entries if entry.get("year") != year]
    entries.append({"year": year, "factor": str(factor), "source": source})
    data["credit_index"] = sorted(entries, key=lambda entry: int(entry.get("year", 0)))
    return write_energy_book(target, data, f"The credit index of {year}")
