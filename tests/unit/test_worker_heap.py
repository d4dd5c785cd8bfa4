"""The worker freezes its start-up heap: full collections no longer walk what lives as long as the process."""

from __future__ import annotations

import gc
import weakref

from worker.main import freeze_start_up_heap


class Node:
    pass


def test_start_up_objects_leave_the_collector_garbage_first_is_freed_and_later_objects_stay_collectable() -> None:
    start_up = Node()
    cycle: list[object] = [Node()]
    cycle.append(cycle)  # garbage only the cyclic collector can free
    probe = weakref.ref(cycle[0])
    del cycle
    try:
        frozen = freeze_start_up_heap()
        # Nothing else freezes, but frozen objects may still be freed (by another test's background threads,
        # say), so the count can only have fallen since.
        assert frozen > 1000 and 0 < gc.get_freeze_count() <= frozen
        assert probe() is None  # collected before the freeze, not kept for the life of the process
        assert all(o is not start_up for o in gc.get_objects())  # frozen: a full collection skips it
        later = Node()
        later_cycle: list[object] = [later]
        later_cycle.append(later_cycle)
        later_probe = weakref.ref(later)
        del later, later_cycle
        gc.collect()
        assert later_probe() is None  # what the worker builds afterwards is collected as before
    finally:
        gc.unfreeze()
