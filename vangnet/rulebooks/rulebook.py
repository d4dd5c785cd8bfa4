"""Loading the rule books (FBU, energy and retention) from the operator's JSON files.

The rules are data an operator can correct without a release (domain.md §1-2), so a book is read from a file
whose path comes from the settings, falling back to the copy packaged with Vangnet. It is validated as a whole
at load, so a broken edit fails loudly with the file name instead of paying a wrong amount later; and it is
cached by path, modification time and size, so an edited file takes effect at the next read without a restart.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.energy_rules import EnergyRuleBook
from schemas.fbu_rules import FbuRuleBook
from schemas.retention_rules import RetentionBook

DEFAULT_FBU_RULES = Path(__file__).resolve().parent / "rulesets" / "fbu.json"
DEFAULT_ENERGY_RULES = Path(__file__).resolve().parent / "rulesets" / "energy.json"
DEFAULT_RETENTION_RULES = Path(__file__).resolve().parent / "rulesets" / "retention.json"

B = TypeVar("B", bound=BaseModel)
_lock = threading.Lock()
# (book type, path) -> ((mtime_ns, size), book); one entry per file, replaced when the file changes.
_cache: dict[tuple[type[BaseModel], Path], tuple[tuple[int, int], Any]] = {}


class RuleBookError(Exception):
    """The rule file is missing, not JSON, or does not describe a valid rule book."""


def load_fbu_rule_book(path: Path | None = None) -> FbuRuleBook:
    """The validated rule book in ``path`` (default: the packaged ``rulesets/fbu.json``)."""
    return _load(FbuRuleBook, "FBU", path or DEFAULT_FBU_RULES)


def load_energy_rule_book(path: Path | None = None) -> EnergyRuleBook:
    """The validated energy rule book in ``path`` (default: the packaged ``rulesets/energy.json``)."""
    return _load(EnergyRuleBook, "Energy", path or DEFAULT_ENERGY_RULES)


def load_retention_book(path: Path | None = None) -> RetentionBook:
    """The validated retention book in ``path`` (default: the packaged ``rulesets/retention.json``)."""
    return _load(RetentionBook, "Retention", path or DEFAULT_RETENTION_RULES)


def _load(model: type[B], what: str, path: Path) -> B:
    resolved = path.expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise RuleBookError(f"{what} rule file {resolved} cannot be read: {exc.strerror or exc}") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = (model, resolved)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            book: B = cached[1]
            return book
    book = _parse(model, what, resolved)
    with _lock:
        _cache[key] = (stamp, book)
    return book


def _parse(model: type[B], what: str, path: Path) -> B:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleBookError(f"{what} rule file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleBookError(
            f"{what} rule file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RuleBookError(f"{what} rule file {path} is not a valid rule book: {exc}") from exc


def clear_cache() -> None:
    """Forget every cached book (for tests and for an operator command that forces a reload)."""
    with _lock:
        _cache.clear()


clear_energy_cache = clear_cache
