"""Checks on a workflow's recorded history, for the invariants the server cannot enforce for us."""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

ENDINGS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "workflow_execution_completed_event_attributes",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "workflow_execution_continued_as_new_event_attributes",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "workflow_execution_failed_event_attributes",
}


def appends_in_the_ending_task(history: WorkflowHistory) -> int:
    """How many local ``append_events`` calls the workflow task that ended the run made (0 when it ended quietly).

    The server refuses a task that ends a run while a signal or update arrived during it; what the task's local
    activities appended would stay in the log for steps the workflow never took."""
    ending = next((e for e in reversed(history.events) if e.event_type in ENDINGS), None)
    assert ending is not None, "the run has not ended"
    task = getattr(ending, ENDINGS[ending.event_type]).workflow_task_completed_event_id
    count = 0
    for e in history.events:
        attrs = e.marker_recorded_event_attributes
        if e.event_type != EventType.EVENT_TYPE_MARKER_RECORDED or attrs.marker_name != "core_local_activity":
            continue
        if attrs.workflow_task_completed_event_id == task:
            data = json.loads(attrs.details["data"].payloads[0].data)
            count += data.get("activity_type") == "append_events"
    return count
