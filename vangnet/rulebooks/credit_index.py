"""Setting a year's emergency credit index factor in the operator's energy rule book, without a code change.

The file is changed as data: read, the year's entry set, the whole book validated, then written to a temporary
file beside it and moved over it in one step (``os.replace``), so a reader sees the old book or the new one, never
half a file, and an invalid result leaves the file untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.energy_rules import EnergyRuleBook
from vangnet.rulebooks.rulebook import DEFAULT_ENERGY_RULES, RuleBookError, clear_cache


def set_credit_index(path: Path | None, year: int, factor: Decimal, source: str, *,
                     replace: bool = False) -> EnergyRuleBook:
    """Set ``year``'s factor (with its source) in the energy rule file and return the new, validated book.

    A year whose factor is already set is only changed with ``replace`` (a published value is corrected on
    purpose, not by a typo in the year)."""
    target = (path or DEFAULT_ENERGY_RULES).expanduser().resolve()
    try:
        data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RuleBookError(f"Energy rule file {target} cannot be read as JSON: {exc}") from exc
    entries: list[dict[str, Any]] = list(data.get("credit_index") or [])
    current = next((entry for entry in entries if entry.get("year") == year), None)
    if current is not None and current.get("factor") is not None and not replace:
        raise RuleBookError(f"The credit index of {year} is already set to {current['factor']}; "
                            "give --replace to change it.")
    entries = [entry for entry in entries if entry.get("year") != year]
    entries.append({"year": year, "factor": str(factor), "source": source})
    data["credit_index"] = sorted(entries, key=lambda entry: int(entry.get("year", 0)))
    try:
        book = EnergyRuleBook.model_validate(data)
    except ValidationError as exc:
        raise RuleBookError(f"The credit index of {year} would make {target} invalid; nothing was written: {exc}") \
            from exc
    _write_atomically(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    clear_cache()
    return book


def _write_atomically(target: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
