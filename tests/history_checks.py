"""Checks on a workflow's recorded history, for the invariants the server cannot enforce for us."""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
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
    return local_activities_in_task(history, task).count("append_events")


def local_activities_in_task(history: WorkflowHistory, task_completed_event_id: int) -> list[str]:
    """The local activities one workflow task ran, in order (from their markers)."""
    return [_activity_type(e) for e in history.events if _is_local_activity(e)
            and e.marker_recorded_event_attributes.workflow_task_completed_event_id == task_completed_event_id]


def local_activities_answering_last_update(history: WorkflowHistory) -> list[str]:
    """The local activities, in order, that the workflow task answering the history's last update ran: the markers
    among that task's commands, which follow its completed event."""
    events = history.events
    answered = max(i for i, e in enumerate(events)
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    task = max(i for i, e in enumerate(events[:answered])
               if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    return [_activity_type(e) for e in events[task:answered] if _is_local_activity(e)]


def _is_local_activity(e: HistoryEvent) -> bool:
    return (e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity")


def _activity_type(marker: HistoryEvent) -> str:
    data = json.loads(marker.marker_recorded_event_attributes.details["data"].payloads[0].data)
    return str(data.get("activity_type"))


def signals_sent(history: WorkflowHistory) -> int:
    """How many signals the workflow sent to other workflows (a claim telling its case)."""
    kind = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    return sum(e.event_type == kind for e in history.events)
