"""Keeping a Temporal Schedule in line with the settings, for every Schedule the worker manages.

The worker calls ``ensure`` at start: it creates the Schedule, or updates it when what the settings describe
changed (compared through the note, because describe returns cron strings translated into calendar specs), so a
deployment never needs a manual step and never ends up with two. An operator's pause survives a worker restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate, ScheduleUpdateInput
from temporalio.service import RPCError


class ScheduleConfigError(RuntimeError):
    """The Schedule the settings describe is refused by the server; reported as one line."""


@dataclass(frozen=True)
class Ensured:
    schedule_id: str
    action: str  # created | updated | unchanged


async def ensure(client: Client, schedule_id: str, wanted: Schedule, setting_hint: str) -> Ensured:
    """Create ``wanted``, or bring the existing Schedule in line with it; ``setting_hint`` names the setting to
    check when the server refuses it."""
    try:
        await client.create_schedule(schedule_id, wanted)
        return Ensured(schedule_id, "created")
    except ScheduleAlreadyRunningError:
        pass
    except RPCError as exc:
        raise ScheduleConfigError(f"the {schedule_id} schedule cannot be created ({exc.message}); check "
                                  f"{setting_hint}") from exc
    changed = False

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        have = current.description.schedule
        if have.state.note == wanted.state.note:
            return None
        changed = True
        wanted.state.paused = have.state.paused
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id).update(update)
    return Ensured(schedule_id, "updated" if changed else "unchanged")
