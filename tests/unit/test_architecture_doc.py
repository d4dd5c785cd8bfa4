"""docs/architecture.md prints the procedures' transition tables: the page and the code must not drift apart."""

from __future__ import annotations

from pathlib import Path

from workflows import energy_phases, fbu_status

DOC = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_the_fbu_table_in_the_docs_is_the_one_the_workflow_uses() -> None:
    assert fbu_status.markdown() in DOC


def test_the_energy_table_in_the_docs_is_the_one_the_workflow_uses() -> None:
    assert energy_phases.markdown_table() in DOC
