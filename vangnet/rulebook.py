"""Loading the FBU rule book from the operator's JSON file.

The rules are data an operator can correct without a release (domain.md §1), so the book is read from a file
whose path comes from the settings, falling back to the copy packaged with Vangnet. It is validated as a whole
at load, so a broken edit fails loudly with the file name instead of paying a wrong amount later; and it is
cached by path and modification time, so an edited file takes effect at the next read without a restart.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pydantic import ValidationError

from schemas.energy_rules import EnergyRuleBook
from schemas.fbu_rules import FbuRuleBook

DEFAULT_FBU_RULES = Path(__file__).resolve().parent / "rulesets" / "fbu.json"

_lock = threading.Lock()
# path -> ((mtime_ns, size), book); one entry per path, replaced when the file changes.
_cache: dict[Path, tuple[tuple[int, int], FbuRuleBook]] = {}


class RuleBookError(Exception):
    """The rule file is missing, not JSON, or does not describe a valid rule book."""


def load_fbu_rule_book(path: Path | None = None) -> FbuRuleBook:
    """The validated rule book in ``path`` (default: the packaged ``vangnet/rulesets/fbu.json``)."""
    resolved = (path or DEFAULT_FBU_RULES).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise RuleBookError(f"FBU rule file {resolved} cannot be read: {exc.strerror or exc}") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(resolved)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    book = _parse(resolved)
    with _lock:
        _cache[resolved] = (stamp, book)
    return book


def _parse(path: Path) -> FbuRuleBook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleBookError(f"FBU rule file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleBookError(
            f"FBU rule file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    try:
        return FbuRuleBook.model_validate(data)
    except ValidationError as exc:
        raise RuleBookError(f"FBU rule file {path} is not a valid rule book: {exc}") from exc


def clear_cache() -> None:
    """Forget every cached book (for tests and for an operator command that forces a reload)."""
    with _lock:
        _cache.clear()


# ---- the energy rule book (domain.md §2) ---------------------------------------------------------------------

DEFAULT_ENERGY_RULES = Path(__file__).resolve().parent / "rulesets" / "energy.json"

# path -> ((mtime_ns, size), book), like ``_cache`` but for energy books; guarded by the same ``_lock``.
_energy_cache: dict[Path, tuple[tuple[int, int], EnergyRuleBook]] = {}


def load_energy_rule_book(path: Path | None = None) -> EnergyRuleBook:
    """The validated energy rule book in ``path`` (default: the packaged ``vangnet/rulesets/energy.json``).

    Cached by path, modification time and size like the FBU book, so an edited file takes effect at the next
    read; every failure is a ``RuleBookError`` naming the file.
    """
    resolved = (path or DEFAULT_ENERGY_RULES).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise RuleBookError(f"Energy rule file {resolved} cannot be read: {exc.strerror or exc}") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _energy_cache.get(resolved)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    book = _parse_energy(resolved)
    with _lock:
        _energy_cache[resolved] = (stamp, book)
    return book


def _parse_energy(path: Path) -> EnergyRuleBook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleBookError(f"Energy rule file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleBookError(
            f"Energy rule file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    try:
        return EnergyRuleBook.model_validate(data)
    except ValidationError as exc:
        raise RuleBookError(f"Energy rule file {path} is not a valid rule book: {exc}") from exc


def clear_energy_cache() -> None:
    """Forget every cached energy book (``clear_cache`` only clears the FBU books)."""
    with _lock:
        _energy_cache.clear()
