"""Prometheus metrics: request counters kept by this process, task figures read from the database at scrape.

Task work happens in other processes (maybe other hosts), so queue depth, failures by code, latency and
worker busy time are read at scrape through the service (``service/task_stats.py``), from the tasks table
that every process shares.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from bgremover.service.outcomes import QUEUED
from bgremover.service.task_stats import TaskFigures


class TaskCollector(Collector):
    def __init__(self, read_figures: Callable[[], TaskFigures]) -> None:
        self.read_figures = read_figures

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | SummaryMetricFamily]:
        figures = self.read_figures()
        depth = GaugeMetricFamily("bgremover_queue_depth", "Tasks waiting for a worker.")
        depth.add_metric([], figures.by_status[QUEUED])
        yield depth
        states = GaugeMetricFamily("bgremover_tasks", "Tasks by status.", labels=["status"])
        for status, n in figures.by_status.items():
            states.add_metric([status], n)
        yield states
        fails = CounterMetricFamily("bgremover_task_failures", "Failed tasks by error code.", labels=["code"])
        for code, n in figures.failures.items():
            fails.add_metric([code], n)
        yield fails
        busy_c = CounterMetricFamily("bgremover_worker_busy_seconds", "Seconds workers spent on tasks.")
        busy_c.add_metric([], figures.busy_s)
        yield busy_c
        summary = SummaryMetricFamily("bgremover_task_latency_seconds",
                                      "Submission to success, tasks finished in the last hour.")
        summary.add_metric([], count_value=len(figures.latencies_s), sum_value=sum(figures.latencies_s))
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

    def __init__(self, read_figures: Callable[[], TaskFigures], queue: Any = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("bgremover_http_requests", "HTTP requests.", ["method", "route", "status"],
                                registry=self.registry)
        self.duration = Histogram("bgremover_http_request_duration_seconds", "HTTP request duration.",
                                  ["route"], registry=self.registry)
        self.submitted = Counter("bgremover_tasks_submitted", "Tasks accepted by this API process.", ["model"],
                                 registry=self.registry)
        self.registry.register(TaskCollector(read_figures))
        if hasattr(queue, "pending"):
            self.registry.register(QueueCollector(queue))
