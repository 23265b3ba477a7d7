"""Prometheus metrics: request counters kept by this process, task figures read from the database at scrape.

Task work happens in other processes (maybe other hosts), so queue depth, failures by code, latency and
worker busy time are computed from the tasks table, which every process shares.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

LATENCY_WINDOW = timedelta(hours=1)


class TaskCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | SummaryMetricFamily]:
        since = utcnow() - LATENCY_WINDOW
        with self.db.read() as conn:
            by_status = dict(conn.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status)).all())
            failures = conn.execute(select(tasks.c.error_code, func.count()).where(tasks.c.status == "failed")
                                    .group_by(tasks.c.error_code)).all()
            busy = conn.execute(select(func.coalesce(func.sum(tasks.c.busy_s), 0.0))).scalar_one()
            done = conn.execute(select(tasks.c.created_at, tasks.c.finished_at).where(
                tasks.c.status == "succeeded", tasks.c.finished_at >= since)).all()
        depth = GaugeMetricFamily("bgremover_queue_depth", "Tasks waiting for a worker.")
        depth.add_metric([], by_status.get("queued", 0))
        yield depth
        states = GaugeMetricFamily("bgremover_tasks", "Tasks by status.", labels=["status"])
        for status in ("queued", "processing", "succeeded", "failed", "canceled"):
            states.add_metric([status], by_status.get(status, 0))
        yield states
        fails = CounterMetricFamily("bgremover_task_failures", "Failed tasks by error code.", labels=["code"])
        for code, n in failures:
            fails.add_metric([code or "unknown"], n)
        yield fails
        busy_c = CounterMetricFamily("bgremover_worker_busy_seconds", "Seconds workers spent on tasks.")
        busy_c.add_metric([], float(busy))
        yield busy_c
        lat = [(f - c).total_seconds() for c, f in done]
        summary = SummaryMetricFamily("bgremover_task_latency_seconds",
                                      "Submission to success, tasks finished in the last hour.")
        summary.add_metric([], count_value=len(lat), sum_value=sum(lat))
        yield summary


class QueueCollector(Collector):
    """Messages waiting in the queue's own storage (Redis or SQLite), read at scrape by any API process.

    Fewer messages than ``bgremover_queue_depth`` (queued tasks) means the queue lost some, e.g. Redis
    restarted without persistence; the workers' reaper sends those again after ``task_requeue_after_s``.
    """

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending = float(self.queue.pending())
        except Exception:  # the queue is unreachable: /readyz says so, and the gauge is absent meanwhile
            return
        gauge = GaugeMetricFamily("bgremover_queue_messages", "Messages waiting in the task queue's storage.")
        gauge.add_metric([], pending)
        yield gauge


class Metrics:
    """One registry per app (no global state), so several apps can live in one process (tests)."""

    def __init__(self, db: Database, queue: Any = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("bgremover_http_requests", "HTTP requests.", ["method", "route", "status"],
                                registry=self.registry)
        self.duration = Histogram("bgremover_http_request_duration_seconds", "HTTP request duration.",
                                  ["route"], registry=self.registry)
        self.submitted = Counter("bgremover_tasks_submitted", "Tasks accepted by this API process.", ["model"],
                                 registry=self.registry)
        self.registry.register(TaskCollector(db))
        if hasattr(queue, "pending"):
            self.registry.register(QueueCollector(queue))
