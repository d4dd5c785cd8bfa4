"""``vangnet dev`` runs ``dev_workers`` worker processes, each named for the supervisor and with its own metrics
port, so a second worker never collides with the first one's endpoint."""

from __future__ import annotations

import pytest

from vangnet.cli.dev import _metrics_urls, _workers
from vangnet.platform.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_two_workers_by_default_on_consecutive_ports() -> None:
    workers = _workers(settings(worker_metrics_port=9464))
    assert workers == [("worker-1", 9464), ("worker-2", 9465)]
    assert _metrics_urls(workers) == "http://127.0.0.1:9464/metrics … :9465 (one per worker)"


def test_one_worker_keeps_its_plain_name() -> None:
    workers = _workers(settings(dev_workers=1, worker_metrics_port=9500))
    assert workers == [("worker", 9500)]
    assert _metrics_urls(workers) == "http://127.0.0.1:9500/metrics"


def test_metrics_off_for_every_worker() -> None:
    workers = _workers(settings(dev_workers=3, worker_metrics_port=0))
    assert workers == [("worker-1", 0), ("worker-2", 0), ("worker-3", 0)]
    assert _metrics_urls(workers) == "(off)"


def test_no_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="dev_workers"):
        settings(dev_workers=0)
