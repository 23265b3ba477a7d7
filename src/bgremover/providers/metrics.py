"""Prometheus figures per provider: attempts by outcome, failures by reason, latency, breaker state.

Kept by the process that runs the tasks (a worker); registered on the registry it is given, so the service
can put them beside its own (``web/metrics.py``) or a worker can expose its own.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bgremover.providers.health import STATE_NUMBER

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)


class ProviderMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.attempts = Counter("bgremover_provider_attempts", "Attempts to have a provider cut out an image.",
                                ["provider", "outcome"], registry=self.registry)
        self.failures = Counter("bgremover_provider_failures", "Failed attempts by reason (timeout, server_error, "
                                "rate_limited, out_of_credits, bad_result, ...).", ["provider", "reason"],
                                registry=self.registry)
        self.latency = Histogram("bgremover_provider_latency_seconds", "Upstream round trip of successful attempts.",
                                 ["provider"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.breaker = Gauge("bgremover_provider_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.",
                             ["provider"], registry=self.registry)
        self.in_flight = Gauge("bgremover_provider_in_flight", "Calls to the provider now running in this process.",
                               ["provider"], registry=self.registry)

    def attempt(self, provider: str, outcome: str, reason: str | None, latency_s: float) -> None:
        self.attempts.labels(provider, outcome).inc()
        if outcome == "failed":
            self.failures.labels(provider, reason or "unknown").inc()
        elif outcome == "succeeded":
            self.latency.labels(provider).observe(latency_s)

    def breaker_state(self, provider: str, state: str) -> None:
        self.breaker.labels(provider).set(STATE_NUMBER[state])
