"""Prometheus metrics: request counters kept by this process, task figures read from the database at scrape.

Task work happens in other processes (maybe other hosts), so queue depth, failures by code, latency and
worker busy time are read at scrape through the service (``service/task_stats.py``), from the tasks table
that every process shares.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from bgremover.service.coverage import STATES, ProviderHealth
from bgremover.service.provider_stats import ProviderActivity, ProviderMargin
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


class ProviderCollector(Collector):
    """Per upstream provider (docs/providers.md), from the attempts the workers recorded on the tasks that
    finished in the last hour: attempts by outcome, failures by reason, latency of the successful ones, and
    each provider's health (the breaker's view every process shares, ``service/coverage.py``); and all time,
    from the task columns: tasks served and what the upstreams charged us."""

    def __init__(self, read_activity: Callable[[], dict[str, ProviderActivity]],
                 read_margins: Callable[[], list[ProviderMargin]],
                 read_health: Callable[[], Mapping[str, ProviderHealth]] | None = None) -> None:
        self.read_activity, self.read_margins, self.read_health = read_activity, read_margins, read_health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | SummaryMetricFamily]:
        activity = self.read_activity()
        attempts = GaugeMetricFamily("bgremover_provider_attempts_last_hour", "Attempts to have a provider cut "
                                     "out an image, by outcome (tasks finished in the last hour).",
                                     labels=["provider", "outcome"])
        failures = GaugeMetricFamily("bgremover_provider_failures_last_hour", "Failed attempts by reason (timeout, "
                                     "server_error, rate_limited, bad_result, ...), last hour.",
                                     labels=["provider", "reason"])
        latency = SummaryMetricFamily("bgremover_provider_latency_last_hour_seconds", "Upstream round trip of "
                                      "the successful attempts, last hour.", labels=["provider"])
        for name, figures in sorted(activity.items()):
            for outcome, n in sorted(figures.attempts.items()):
                attempts.add_metric([name, outcome], n)
            for reason, n in sorted(figures.failures.items()):
                failures.add_metric([name, reason], n)
            latency.add_metric([name], count_value=len(figures.latencies_s), sum_value=sum(figures.latencies_s))
        served = CounterMetricFamily("bgremover_provider_tasks_served", "Tasks each provider served.",
                                     labels=["provider"])
        cost = CounterMetricFamily("bgremover_provider_upstream_cost_credits", "What each provider charged us, "
                                   "in our credits (its cost_per_image).", labels=["provider"])
        for m in self.read_margins():
            served.add_metric([m.provider], m.tasks_served)
            cost.add_metric([m.provider], m.upstream_cost)
        yield from (attempts, failures, latency, served, cost)
        if self.read_health is not None:
            yield self._health(self.read_health())

    @staticmethod
    def _health(health: Mapping[str, ProviderHealth]) -> GaugeMetricFamily:
        """One series per provider and state, 1 for its current state (a state set): alert on
        ``bgremover_provider_health{state="down"} == 1``."""
        gauge = GaugeMetricFamily("bgremover_provider_health", "Provider health over the last hour, as every "
                                  "process sees it (read from the attempts recorded on tasks): 1 for the current "
                                  "state, 0 for the others. down: the breaker's view, the newest attempts are "
                                  "BGREMOVER_PROVIDER_BREAKER_FAILURES failures in a row, every attempt failed, or "
                                  "a worker's breaker is open; degraded: under 95% succeeded; healthy; no traffic: "
                                  "not tried in the hour.", labels=["provider", "state"])
        for name, h in sorted(health.items()):
            for state in STATES:
                gauge.add_metric([name, state], 1 if h.state == state else 0)
        return gauge


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

    def __init__(self, read_figures: Callable[[], TaskFigures], queue: Any = None,
                 providers: ProviderCollector | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("bgremover_http_requests", "HTTP requests.", ["method", "route", "status"],
                                registry=self.registry)
        self.duration = Histogram("bgremover_http_request_duration_seconds", "HTTP request duration.",
                                  ["route"], registry=self.registry)
        self.submitted = Counter("bgremover_tasks_submitted", "Tasks accepted by this API process.", ["model"],
                                 registry=self.registry)
        self.registry.register(TaskCollector(read_figures))
        if providers is not None:
            self.registry.register(providers)
        if hasattr(queue, "pending"):
            self.registry.register(QueueCollector(queue))
