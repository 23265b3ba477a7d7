"""Per provider, per process: a circuit breaker and the last hour's success rate and median latency.

In memory, so each worker process judges for itself (a provider that fails for one process's tasks is soon
skipped by every process anyway); the service can persist the attempts later for a shared view.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
STATE_NUMBER = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}  # for the gauge


class CircuitBreaker:
    """Opens after ``failures_to_open`` consecutive failures; after ``cooldown_s`` one probe goes through
    (half-open): its success closes the breaker, its failure opens it for another cool-down. ``hold(s)``
    keeps every call away for ``s`` seconds without judging the provider (an upstream's Retry-After)."""

    def __init__(self, failures_to_open: int = 5, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open, self.cooldown_s, self.clock = max(1, failures_to_open), cooldown_s, clock
        self._lock = threading.Lock()
        self._state, self._failures, self._open_until, self._held_until = CLOSED, 0, 0.0, 0.0
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self.clock() >= self._open_until:
                return HALF_OPEN
            return self._state

    def ready_at(self) -> float:
        """When a call could next be let through (now or earlier: it could be now)."""
        with self._lock:
            return max(self._held_until, self._open_until if self._state == OPEN else 0.0)

    def is_open(self) -> bool:
        """Open and still cooling down, or half-open with its one probe out: skip this provider."""
        with self._lock:
            if self._state == OPEN:
                return self.clock() < self._open_until
            return self._state == HALF_OPEN and self._probing

    def is_held(self) -> bool:
        with self._lock:
            return self.clock() < self._held_until

    def allow(self) -> bool:
        """Take permission for one call; every True must be followed by record_success or record_failure."""
        with self._lock:
            now = self.clock()
            if now < self._held_until:
                return False
            if self._state == OPEN:
                if now < self._open_until:
                    return False
                self._state = HALF_OPEN
            if self._state == HALF_OPEN:
                if self._probing:
                    return False
                self._probing = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._probing = CLOSED, 0, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failures_to_open:
                self._state, self._open_until = OPEN, self.clock() + self.cooldown_s
            self._probing = False

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + max(0.0, seconds))


@dataclass(frozen=True)
class HealthSnapshot:
    state: str
    requests: int  # attempts in the window
    success_rate: float | None  # None: no attempts in the window
    p50_latency_s: float | None  # of the successful attempts


class HealthStats:
    """Outcomes of the last ``window_s`` seconds (bounded to ``max_samples``), for the decision panel."""

    def __init__(self, window_s: float = 3600.0, max_samples: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s, self.clock = window_s, clock
        self._samples: deque[tuple[float, bool, float]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def record(self, ok: bool, latency_s: float) -> None:
        with self._lock:
            self._samples.append((self.clock(), ok, latency_s))

    def snapshot(self, state: str = CLOSED) -> HealthSnapshot:
        with self._lock:
            since = self.clock() - self.window_s
            while self._samples and self._samples[0][0] < since:
                self._samples.popleft()
            samples = list(self._samples)
        if not samples:
            return HealthSnapshot(state, 0, None, None)
        ok = sorted(lat for _t, good, lat in samples if good)
        p50 = (ok[(len(ok) - 1) // 2] + ok[len(ok) // 2]) / 2 if ok else None
        return HealthSnapshot(state, len(samples), len(ok) / len(samples), p50)
