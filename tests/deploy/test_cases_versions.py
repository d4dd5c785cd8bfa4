"""``vangnet cases versions`` reads a run's code version from its history: recorded histories of both code paths."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from temporalio.client import WorkflowHistory

from vangnet.cli.cases import CodeVersion, code_version, render
from workflows.common import EVENTS_V2

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def version_of(path: Path) -> CodeVersion:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    return code_version("FbuCase", history.events)


def test_current_code_records_the_patch_and_the_build() -> None:
    v = version_of(next((HISTORIES / "fbu-happy-path-local-appends").glob("fbu-case-*.json")))
    assert v.patches == (EVENTS_V2,)
    assert v.build_id == "2d8439d3369f08484e633a890d4bab08"


def test_code_from_before_the_patch_has_no_marker() -> None:
    v = version_of(next((HISTORIES / "fbu-happy-path").glob("fbu-case-*.json")))
    assert v.patches == ()


def test_render_counts_per_version() -> None:
    counts = Counter({CodeVersion("FbuCase", (EVENTS_V2,), "abc"): 3, CodeVersion("FbuCase", (), "old"): 1})
    out = render(counts)
    assert "4 open runs in 2 code versions" in out
    assert "events-v2-local-appends" in out
