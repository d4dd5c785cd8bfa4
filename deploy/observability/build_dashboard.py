"""Writes grafana/dashboards/vangnet.json: the panels as data here, the verbose Grafana JSON generated.

    python deploy/observability/build_dashboard.py    # after editing PANELS; commit both files

tests/deploy/test_metrics_exported.py checks that every metric the dashboard names is exported.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).parent / "grafana" / "dashboards" / "vangnet.json"

# (title, unit, [(expr, legend)]); one row of three panels per group
ROWS: list[tuple[str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    ("API", [
        ("Requests per second by status", "reqps", [
            ('sum by (status) (rate(vangnet_http_requests_total[5m]))', "{{status}}")]),
        ("Latency p50 / p95 / p99", "s", [
            (f'histogram_quantile({q}, sum by (le) (rate(vangnet_http_request_duration_seconds_bucket[5m])))',
             f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)]),
        ("5xx share", "percentunit", [
            ('sum(rate(vangnet_http_requests_total{status=~"5.."}[5m])) / sum(rate(vangnet_http_requests_total[5m]))',
             "5xx")]),
    ]),
    ("Workflows and activities", [
        ("Workflow task latency p95 (execution, replay), worker GC pauses", "s", [
            ('histogram_quantile(0.95, sum by (le) (rate(temporal_workflow_task_execution_latency_bucket[5m])))',
             "execution"),
            ('histogram_quantile(0.95, sum by (le) (rate(temporal_workflow_task_replay_latency_bucket[5m])))',
             "replay"),
            ('histogram_quantile(0.99, sum by (le) (rate(vangnet_worker_gc_pause_seconds_bucket{generation="2"}[5m])))',
             "full GC pause p99 (stops the worker)")]),
        ("Activity latency p95 by type", "s", [
            ('histogram_quantile(0.95, sum by (le, activity_type) '
             '(rate(temporal_activity_execution_latency_bucket[5m])))', "{{activity_type}}"),
            ('histogram_quantile(0.95, sum by (le, activity_type) '
             '(rate(temporal_local_activity_execution_latency_bucket[5m])))', "local {{activity_type}}")]),
        ("Failures per second", "ops", [
            ('sum by (activity_type) (rate(temporal_activity_execution_failed[5m]))', "activity {{activity_type}}"),
            ('sum(rate(temporal_workflow_task_execution_failed[5m]))', "workflow task")]),
    ]),
    ("Workers", [
        ("Schedule-to-start p95", "s", [
            ('histogram_quantile(0.95, sum by (le) '
             '(rate(temporal_workflow_task_schedule_to_start_latency_bucket[5m])))', "workflow task"),
            ('histogram_quantile(0.95, sum by (le) (rate(temporal_activity_schedule_to_start_latency_bucket[5m])))',
             "activity")]),
        ("Task slots used / available", "short", [
            ('sum by (worker_type) (temporal_worker_task_slots_used)', "used {{worker_type}}"),
            ('sum by (worker_type) (temporal_worker_task_slots_available)', "free {{worker_type}}")]),
        ("Pollers and sticky cache", "short", [
            ('sum by (poller_type) (temporal_num_pollers)', "pollers {{poller_type}}"),
            ('sum(temporal_sticky_cache_size)', "cached workflows")]),
    ]),
    ("Cases", [
        ("Open cases per phase", "short", [
            ('max by (kind, phase) (vangnet_open_cases)', "{{kind}} {{phase}}")]),
        ("Payouts per day", "short", [
            ('sum by (kind) (max without (instance, pod) (increase(vangnet_payouts_paid_total[1d])))', "{{kind}}"),
            ('sum(max without (instance, pod) (increase(vangnet_payouts_paid_euros_total[1d])))', "euro")]),
        ("Projection lag and missed deadlines", "short", [
            ('max(vangnet_projection_lag_seconds)', "lag (s)"),
            ('max(vangnet_projection_lag_events)', "lag (events)"),
            ('max by (deadline) (vangnet_missed_deadlines)', "missed {{deadline}}")]),
    ]),
]


def dashboard() -> dict[str, object]:
    panels: list[dict[str, object]] = []
    pid, y = 1, 0
    for row_title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        pid, y = pid + 1, y + 1
        for i, (title, unit, targets) in enumerate(row):
            panels.append({
                "id": pid, "type": "timeseries", "title": title,
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "gridPos": {"h": 8, "w": 8, "x": 8 * i, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"refId": chr(65 + j), "expr": expr, "legendFormat": legend,
                             "datasource": {"type": "prometheus", "uid": "prometheus"}}
                            for j, (expr, legend) in enumerate(targets)],
            })
            pid += 1
        y += 8
    return {"uid": "vangnet", "title": "Vangnet", "tags": ["vangnet"], "timezone": "Europe/Brussels",
            "schemaVersion": 39, "version": 1, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
            "panels": panels}


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(f"wrote {OUT}")
