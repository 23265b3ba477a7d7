"""Routes: one model to an ordered list of providers, tried in order until one serves a checked cut-out.

``run_with_failover`` fails over on :class:`UpstreamUnavailable` (and on the local engine's own operator
errors), honours an upstream's ``Retry-After`` while the task's deadline allows, stops at once on the
client's own bad image, and records every attempt. It returns who served the image, so the caller charges
the task's credits exactly once, after success, and refunds on the final failure.

Concurrency caps hold across the threads of one process: a provider whose ``max_concurrency`` calls are all
running is passed over for the next provider of the route (spill-over) and, when every provider is busy,
the call waits for the first free slot. Across N worker processes a provider may see N x its cap.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bgremover.errors import BgRemoverError, InvalidImage
from bgremover.fetching.resolver import GetAddrInfo
from bgremover.pipeline.remover import CutoutOptions
from bgremover.providers.config import LOCAL, ProvidersConfig, ProviderSpec
from bgremover.providers.errors import (
    ClientInputError,
    ProvidersExhausted,
    UpstreamUnavailable,
)
from bgremover.providers.health import CircuitBreaker, HealthSnapshot, HealthStats
from bgremover.providers.metrics import ProviderMetrics
from bgremover.providers.result import PreparedInput, ProviderResult
from bgremover.providers.transport import PinnedHttp
from bgremover.providers.upstreams import (
    REMOTE_KINDS,
    LocalProvider,
    LocalRun,
    Provider,
)

log = logging.getLogger(__name__)
EXHAUSTED_MESSAGE = "no provider could process this image right now; nothing was charged, try again later"


@dataclass(frozen=True)
class Attempt:
    provider: str
    outcome: str  # succeeded | failed | client_error | skipped
    reason: str | None = None  # for failed/skipped: timeout, server_error, breaker_open, ...
    latency_s: float = 0.0
    cost: float = 0.0  # what the upstream charged us: a success, or a 200 whose body failed our checks


@dataclass(frozen=True)
class Served:
    result: ProviderResult
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.result.provider

    @property
    def upstream_cost(self) -> float:
        return sum(a.cost for a in self.attempts)


@dataclass
class _Slot:
    provider: Provider
    breaker: CircuitBreaker
    stats: HealthStats
    in_flight: int = 0


class Router:
    """One per process; thread-safe. ``local_run`` is the engine call for the ``local`` provider."""

    def __init__(self, config: ProvidersConfig, *, fetch_allowlist: Iterable[str] = (),
                 local_run: LocalRun | None = None,
                 breaker_failures: int = 5, breaker_cooldown_s: float = 30.0, deadline_s: float = 180.0,
                 max_image_bytes: int = 25 * 1024 * 1024, max_image_pixels: int = 36_000_000,
                 metrics: ProviderMetrics | None = None, getaddrinfo: GetAddrInfo | None = None) -> None:
        self.config, self.deadline_s, self.metrics = config, deadline_s, metrics
        self.max_image_bytes, self.max_image_pixels = max_image_bytes, max_image_pixels
        allow = list(fetch_allowlist)
        self._slots = {name: _Slot(_provider(spec, allow, local_run, max_image_bytes, getaddrinfo),
                                   CircuitBreaker(breaker_failures, breaker_cooldown_s), HealthStats())
                       for name, spec in config.providers.items()}
        self._changed = threading.Condition()

    @classmethod
    def from_settings(cls, config: ProvidersConfig, settings: object, **kw: object) -> Router:
        g = settings.__getattribute__
        return cls(config, fetch_allowlist=g("fetch_allowlist"), breaker_failures=g("provider_breaker_failures"),
                   breaker_cooldown_s=g("provider_breaker_cooldown_s"), deadline_s=g("provider_deadline_s"),
                   max_image_bytes=g("max_image_bytes"), max_image_pixels=g("max_image_pixels"), **kw)  # type: ignore[arg-type]

    def route(self, model: str, pin: str | None = None) -> list[Provider]:
        """The model's providers in order; a pin (checked at submission) is that provider alone."""
        if pin is not None:
            if pin not in self._slots:  # the file changed since the task was submitted: refunded, not lost
                raise ProvidersExhausted(f"the chosen provider {pin} is no longer configured", attempts=[])
            return [self._slots[pin].provider]
        return [self._slots[spec.name].provider for spec in self.config.route(model)]

    def health(self) -> dict[str, HealthSnapshot]:
        return {name: s.stats.snapshot(s.breaker.state) for name, s in self._slots.items()}

    def breaker(self, name: str) -> CircuitBreaker:
        return self._slots[name].breaker

    def run_with_failover(self, route: Sequence[Provider], image: bytes, options: CutoutOptions, *,
                          deadline: float | None = None, idempotency_key: str | None = None) -> Served:
        deadline = deadline if deadline is not None else time.monotonic() + self.deadline_s
        prepared = PreparedInput(image, self.max_image_bytes, self.max_image_pixels)
        pending, attempts = [self._slots[p.name] for p in route], list[Attempt]()
        retried: set[str] = set()
        last_local_error: BgRemoverError | None = None
        if any(s.provider.spec.kind != LOCAL for s in pending):
            prepared.check()  # the client's bad image fails here, once, before any provider is tried or paid
        while pending:
            slot = self._acquire(pending, deadline, attempts)
            if slot is None:
                break
            pending.remove(slot)
            name, t0 = slot.provider.name, time.monotonic()
            spec_deadline = min(deadline, t0 + slot.provider.spec.timeout_s)
            key = f"{idempotency_key}:{name}:{len(attempts)}" if idempotency_key else None
            try:
                result = slot.provider.remove(prepared, options, deadline=spec_deadline, idempotency_key=key)
            except (ClientInputError, InvalidImage) as exc:  # the image, not the provider: stop here
                slot.breaker.record_success()  # the upstream answered sensibly
                self._record(slot, attempts, Attempt(name, "client_error", exc.code, time.monotonic() - t0))
                exc.attempts = list(attempts)  # type: ignore[attr-defined]  # for the task's record
                raise
            except UpstreamUnavailable as exc:  # a 200 we rejected (bad_result) was still billed upstream
                self._failed(slot, attempts, exc.reason, t0,
                             slot.provider.spec.cost_per_image if exc.reason == "bad_result" else 0.0)
                if exc.retry_after_s is not None:
                    slot.breaker.hold(exc.retry_after_s)
                    if name not in retried and time.monotonic() + exc.retry_after_s < deadline:
                        retried.add(name)
                        pending.append(slot)  # once more after its Retry-After, if nothing else serves first
                continue
            except BgRemoverError as exc:  # the local engine: model missing or corrupt (the operator's problem)
                self._failed(slot, attempts, exc.code, t0)
                last_local_error = exc
                continue
            finally:
                self._release(slot)
            slot.breaker.record_success()
            self._record(slot, attempts, Attempt(name, "succeeded", None, result.latency_s, result.upstream_cost))
            return Served(result, attempts)
        if last_local_error is not None and [s.name for s in route] == [LOCAL]:
            last_local_error.attempts = list(attempts)  # type: ignore[attr-defined]
            raise last_local_error  # a local-only route fails exactly as the task run always has
        log.warning("every provider failed: %s", "; ".join(f"{a.provider} {a.outcome} ({a.reason})" for a in attempts))
        raise ProvidersExhausted(EXHAUSTED_MESSAGE, attempts=list(attempts))

    def _acquire(self, pending: list[_Slot], deadline: float, attempts: list[Attempt]) -> _Slot | None:
        """The first pending provider, in route order, with a free slot and a closed breaker; waits while every
        one is busy or held by a Retry-After that ends before the deadline. None when none is left to try."""
        with self._changed:
            while True:
                now = time.monotonic()
                for slot in list(pending):
                    if slot.breaker.is_open():
                        pending.remove(slot)
                        self._record(slot, attempts, Attempt(slot.provider.name, "skipped", "breaker_open"))
                    elif slot.breaker.is_held() and slot.breaker.ready_at() >= deadline:
                        pending.remove(slot)
                        self._record(slot, attempts, Attempt(slot.provider.name, "skipped", "rate_limited"))
                for slot in pending:
                    if slot.in_flight < slot.provider.spec.max_concurrency and slot.breaker.allow():
                        slot.in_flight += 1
                        self._in_flight(slot)
                        return slot
                if not pending or now >= deadline:
                    return None
                wake = min([deadline] + [s.breaker.ready_at() for s in pending if s.breaker.is_held()])
                self._changed.wait(timeout=max(0.01, min(wake - now, 1.0)))

    def _release(self, slot: _Slot) -> None:
        with self._changed:
            slot.in_flight -= 1
            self._in_flight(slot)
            self._changed.notify_all()

    def _failed(self, slot: _Slot, attempts: list[Attempt], reason: str | None, t0: float, cost: float = 0.0) -> None:
        slot.breaker.record_failure()
        self._record(slot, attempts, Attempt(slot.provider.name, "failed", reason, time.monotonic() - t0, cost))

    def _record(self, slot: _Slot, attempts: list[Attempt], attempt: Attempt) -> None:
        attempts.append(attempt)
        if attempt.outcome in ("succeeded", "failed"):
            slot.stats.record(attempt.outcome == "succeeded", attempt.latency_s)
        if self.metrics is not None:
            self.metrics.attempt(attempt.provider, attempt.outcome, attempt.reason, attempt.latency_s)
            self.metrics.breaker_state(attempt.provider, slot.breaker.state)

    def _in_flight(self, slot: _Slot) -> None:
        if self.metrics is not None:
            self.metrics.in_flight.labels(slot.provider.name).set(slot.in_flight)


def _provider(spec: ProviderSpec, allow: list[str], local_run: LocalRun | None, max_bytes: int,
              getaddrinfo: GetAddrInfo | None) -> Provider:
    if spec.kind == LOCAL:
        return LocalProvider(spec, local_run)
    http = PinnedHttp(spec, allow, max_body_bytes=4 * max_bytes, getaddrinfo=getaddrinfo)
    return REMOTE_KINDS[spec.kind](spec, http)
