"""``make bench``'s report: the floor under the steps, the slowest signatures and the worker's full collections."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture()
def report(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the benchmark's modules import each other by name
    import bench_report
    return bench_report


def result(paced_p99: float) -> dict[str, Any]:
    return {
        "machine": {"nproc": 2, "cpu_model": "test", "memory_gib": 1.0, "loadavg_at_start": [0.0, 0.0, 0.0]},
        "started_at": "2026-12-02T03:00:00+00:00",
        "limit": {"noop": {"per_s": 30.0}, "steps": {}},
        "step_floor": {"n": 240, "p50_ms": 30.0, "p99_ms": 80.0, "errors": {}},
        "sign_paced": {"clients": 20, "pause_s": 1.0, "per_s": 15.0, "n": 240, "p50_ms": 70.0, "p99_ms": paced_p99,
                       "errors": {}, "by_party": {},
                       "slowest": [{"at_s": 9.4, "ms": 150.0, "party": "ocmw"},
                                   {"at_s": 2.1, "ms": 190.0, "party": "tenant"}]},
        "worker_sdk_metrics": {"sign paced": {"worker GC pause, generation 0": {"mean_ms": 0.2, "count": 20}},
                               "sign in step": {"worker GC pause, generation 2": {"mean_ms": 244.0, "count": 1}}},
    }


def test_the_paced_signatures_are_shown_against_the_floor_and_their_target(report: Any) -> None:
    rows = {row[0].split(" (")[0]: row for row in report.rows(result(160.0))}
    floor = rows["LIMIT: an empty step at the signers' pace"]
    assert floor[1:4] == ["30.0 / 80.0", "ms p50 / p99", "1 (the floor)"]
    paced = rows["sign"]
    assert paced[3] == "2.000 × floor p99" and paced[5] == "MISS"
    assert report.rows(result(120.0))[-1][5] == "pass"


def test_the_slowest_signatures_are_listed_by_when_they_started_and_full_collections_by_measurement(
        report: Any) -> None:
    text = report.render(result(160.0))
    assert "  paced           2.1 s tenant 190 ms, 9.4 s ocmw 150 ms" in text
    assert "  sign in step           1 / 244 ms" in text
    assert "  sign paced" not in text.split("full garbage collections")[1]  # generation 0 is not listed


def test_the_worker_gc_histogram_is_read_per_generation(report: Any) -> None:
    body = ('vangnet_worker_gc_pause_seconds_sum{generation="2",service_name="temporal-core-sdk"} 0.5\n'
            'vangnet_worker_gc_pause_seconds_count{generation="2",service_name="temporal-core-sdk"} 2\n'
            'vangnet_worker_gc_pause_seconds_count{generation="0",service_name="temporal-core-sdk"} 40\n'
            'temporal_workflow_task_execution_latency_sum{namespace="default"} 3\n'
            'temporal_workflow_task_execution_latency_count{namespace="default"} 10\n')

    async def scrape(urls: list[str]) -> dict[str, tuple[float, float]]:
        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text=body) if request.url.host != "down" else httpx.Response(503)

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return dict(await report.scrape_sdk(http, urls))

    scraped = asyncio.run(scrape(["http://worker-1/metrics"]))
    assert scraped[report.FULL_COLLECTION] == (0.5, 2.0)
    assert scraped["worker GC pause, generation 0"] == (0.0, 40.0)
    # the workers' histograms add up; an endpoint that does not answer adds nothing
    both = asyncio.run(scrape(["http://worker-1/metrics", "http://down/metrics", "http://worker-2/metrics"]))
    assert both[report.FULL_COLLECTION] == (1.0, 4.0)
    assert both["worker GC pause, generation 0"] == (0.0, 80.0)
    assert asyncio.run(scrape([])) == {}
