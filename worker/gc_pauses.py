"""The worker's garbage-collector pauses, as a histogram next to the SDK's metrics.

A collection stops the whole worker process: every workflow task, local activity (the appends) and poller waits
for it. A full collection (generation 2) walks every object the cached workflows hold, and took 77-420 ms in the
benchmark's runs, long enough to be a step's whole latency budget (docs/performance.md). The SDK's metrics cannot
show it, so ``GcPauses`` times each collection (``gc.callbacks``) into ``vangnet_worker_gc_pause_seconds``,
labelled only with the generation.
"""

from __future__ import annotations

import gc
import time
from datetime import timedelta
from typing import Any

from temporalio.common import MetricMeter

METRIC = "vangnet_worker_gc_pause_seconds"  # the worker exports durations in seconds


class GcPauses:
    """Times every collection of this process into one histogram, one series per generation."""

    def __init__(self, meter: MetricMeter) -> None:
        self._histogram = meter.create_histogram_timedelta(
            METRIC, "How long a garbage collection stopped the worker process, by generation.", "duration")
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collection (no nested one can start), in whichever thread allocated: keep it short.
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = timedelta(seconds=time.perf_counter() - self._started)
        self._histogram.record(pause, {"generation": str(info.get("generation", ""))})

    def install(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
