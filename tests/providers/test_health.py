"""The circuit breaker and the one-hour health figures, on a clock the tests move."""
from __future__ import annotations

import pytest

from bgremover.providers import CircuitBreaker, HealthStats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_consecutive_failures_and_a_success_resets_the_count() -> None:
    clock = Clock()
    b = CircuitBreaker(3, 30, clock)
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert b.allow()
    b.record_success()  # the count starts again
    for _ in range(3):
        assert b.allow()
        b.record_failure()
    assert b.state == "open" and not b.allow()


def test_after_the_cooldown_one_probe_goes_through_and_decides() -> None:
    clock = Clock()
    b = CircuitBreaker(1, 30, clock)
    b.allow()
    b.record_failure()
    clock.now += 29.9
    assert not b.allow()
    clock.now += 0.2
    assert b.state == "half_open"
    assert b.allow(), "the probe"
    assert not b.allow(), "one probe at a time"
    b.record_failure()
    assert b.state == "open", "a failed probe opens it for another cool-down"
    clock.now += 30.1
    assert b.allow()
    b.record_success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_hold_keeps_calls_away_without_judging_the_provider() -> None:
    clock = Clock()
    b = CircuitBreaker(1, 30, clock)
    b.hold(5)
    assert b.is_held() and not b.allow() and b.state == "closed"
    assert b.ready_at() == pytest.approx(1005)
    clock.now += 5
    assert b.allow()


def test_health_is_the_last_hours_success_rate_and_median_latency() -> None:
    clock = Clock()
    stats = HealthStats(window_s=3600, clock=clock)
    assert stats.snapshot().success_rate is None
    stats.record(False, 9.0)  # an hour and more ago by the time we look
    clock.now += 3000
    for latency in (1.0, 2.0, 3.0, 10.0):
        stats.record(True, latency)
    stats.record(False, 0.5)
    clock.now += 700
    snap = stats.snapshot("open")
    assert (snap.state, snap.requests, snap.success_rate, snap.p50_latency_s) == ("open", 5, 0.8, 2.5)
