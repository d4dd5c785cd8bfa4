"""Changing an operator's energy rule file as data, without a release.

Every edit goes the same way: the file's JSON is read, changed, the whole book validated as the workers will load
it, and only then written to a temporary file beside it (flushed) and moved over it in one step (``os.replace``),
so a reader sees the old book or the new one, never half a file, and an invalid change leaves the file untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.energy_rules import EnergyRuleBook
from vangnet.rulebooks.rulebook import RuleBookError, clear_cache


def read_book_data(target: Path) -> dict[str, Any]:
    """The file's JSON as a dict; RuleBookError when it cannot be read."""
    try:
        data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RuleBookError(f"Energy rule file {target} cannot be read as JSON: {exc}") from exc
    return data


def write_energy_book(target: Path, data: dict[str, Any], what: str) -> EnergyRuleBook:
    """Validate ``data`` as a whole energy book, then replace ``target`` atomically; the new book.

    ``what`` names the change for the operator's error message ("the credit index of 2027")."""
    try:
        book = EnergyRuleBook.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise RuleBookError(f"{what} would make {target} invalid; nothing was written: {problems}") from None
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
