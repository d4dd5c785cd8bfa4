"""Recorded histories must replay on today's workflow code: a change that would break running cases fails here.

Record new ones with `vangnet simulate SCENARIO --save-histories tests/histories/NAME` when a workflow changes
(behind `workflow.patched`), and keep the old ones. The retention sweep's come from its test:
`VANGNET_RECORD_HISTORIES=tests/histories/retention-sweep pytest tests/workflows/test_retention.py`; the same
variable (``tests/recorded_histories.keep_history``) records the late-callback cases, the refused steps of
tests/workflows/test_steps_recheck.py and an FBU run that continued as new on the dev server
(tests/integration/test_fbu_continue_as_new.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_CODEC
from vangnet.platform.converter import data_converter
from worker.main import WORKFLOWS
from worker.sandbox import workflow_runner

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").rglob("*.json"))


def test_there_are_histories_to_replay() -> None:
    kinds = {p.name.split("-")[1] for p in HISTORIES}
    assert kinds == {"case", "claim", "sweep"}, kinds


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_history_replays(path: Path) -> None:
    raw = json.loads(path.read_text())
    workflow_id = raw["events"][0]["workflowExecutionStartedEventAttributes"].get("workflowId") or path.stem
    history = WorkflowHistory.from_json(workflow_id, raw)
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter(TEST_CODEC),
                        workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
