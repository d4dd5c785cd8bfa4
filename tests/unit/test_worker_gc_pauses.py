"""The worker's garbage-collector pauses reach its Prometheus endpoint, one series per generation."""

from __future__ import annotations

import gc
import re
import time

import httpx

from tests.conftest import free_port
from worker.gc_pauses import METRIC, GcPauses
from worker.main import metrics_runtime


def _count(text: str, generation: str) -> float:
    pattern = rf'^{METRIC}_count\{{[^}}]*generation="{generation}"[^}}]*\}} (\S+)$'
    return sum(float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE))


def _scrape(port: int, until: float) -> str:
    """The exporter publishes on its own schedule: ask until the full collection shows (or give up)."""
    text = ""
    while time.monotonic() < until:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        if _count(text, "2") >= 1:
            return text
        time.sleep(0.1)
    return text


def test_every_collection_is_timed_by_generation_and_uninstalling_stops_it() -> None:
    port = free_port()
    runtime = metrics_runtime(port)
    assert runtime is not None
    pauses = GcPauses(runtime.metric_meter).install()
    try:
        gc.collect(0)
        gc.collect()  # a full collection: generation 2
    finally:
        pauses.uninstall()
    text = _scrape(port, time.monotonic() + 10)
    assert _count(text, "2") >= 1, text[-2000:]
    assert _count(text, "0") >= 1
    assert f"{METRIC}_sum" in text and f"{METRIC}_bucket" in text
    assert pauses._callback not in gc.callbacks
    before = _count(text, "2")
    gc.collect()  # uninstalled: no longer counted
    time.sleep(0.3)
    assert _count(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text, "2") == before
