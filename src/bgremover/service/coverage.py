"""Coverage: which providers serve each public model, in the order they are tried, and how each one fared over
the last hour, read from the attempts the task run records on each task (``tasks.attempts_json``).

The health is per provider, not per model and provider, because the router's breaker and concurrency cap are
per provider: a provider that times out on one model's tasks is skipped for every model. Computed from the
database, so every API process shows the same figures, unlike each worker's in-memory breaker.

State, in the breaker's terms: ``down`` when the latest attempts are ``failures_to_open`` failures in a row (or
every attempt in the window failed, or the newest record is a skip because its breaker was open), ``degraded``
when under 95 % of its attempts succeeded, ``healthy`` otherwise, ``no traffic`` when nothing was tried. An
attempt stopped by the client's own bad image (``client_error``) says nothing about the provider and is left
out; so are tasks that ran before routing was recorded (no attempts_json).
"""
from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bgremover.providers.config import ProvidersConfig
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

log = logging.getLogger(__name__)

HEALTHY, DEGRADED, DOWN, NO_TRAFFIC = "healthy", "degraded", "down", "no traffic"
STATES = (HEALTHY, DEGRADED, DOWN, NO_TRAFFIC)
HEALTHY_RATE = 0.95
WINDOW = timedelta(hours=1)
MAX_TASKS = 20_000  # one hour of a busy endpoint; the newest are read first


@dataclass(frozen=True)
class ProviderHealth:
    state: str  # healthy | degraded | down | no traffic
    attempts: int  # succeeded + failed in the window (client errors and skips left out)
    succeeded: int
    success_rate: float | None  # None: no attempts
    p50_latency_s: float | None  # median round trip of the successful attempts
    window_s: float

    @classmethod
    def quiet(cls, window: timedelta = WINDOW) -> ProviderHealth:
        return cls(NO_TRAFFIC, 0, 0, None, None, window.total_seconds())


@dataclass(frozen=True)
class RouteStop:
    """One provider of a model's route, in the order the router tries them."""

    name: str
    kind: str  # local | bgremover | removebg | rembg
    pinnable: bool  # the operator lets a request ask for this provider (the request's "provider" field)
    health: ProviderHealth


def _attempts(raw: str | None) -> list[Mapping[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        log.warning("a task's attempts_json is not JSON; left out of the provider health")
        return []
    return [a for a in value if isinstance(a, Mapping)] if isinstance(value, list) else []


def _latency(attempt: Mapping[str, Any]) -> float | None:
    value = attempt.get("latency_s", attempt.get("latency"))
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _judge(events: list[tuple[str, str | None, float | None]], failures_to_open: int,
           window: timedelta) -> ProviderHealth:
    """``events``: (outcome, reason, latency), oldest first."""
    judged = [(o, lat) for o, _r, lat in events if o in ("succeeded", "failed")]
    ok = [lat for o, lat in judged if o == "succeeded"]
    latencies = [lat for lat in ok if lat is not None]
    if not judged and not events:
        return ProviderHealth.quiet(window)
    rate = len(ok) / len(judged) if judged else None
    p50 = statistics.median(latencies) if latencies else None
    trailing = 0
    for outcome, _lat in reversed(judged):
        if outcome != "failed":
            break
        trailing += 1
    newest_open = bool(events) and events[-1][0] == "skipped" and events[-1][1] == "breaker_open"
    if newest_open or trailing >= failures_to_open or (judged and not ok):
        state = DOWN
    elif rate is None:
        state = NO_TRAFFIC
    else:
        state = HEALTHY if rate >= HEALTHY_RATE else DEGRADED
    return ProviderHealth(state, len(judged), len(ok), rate, p50, window.total_seconds())


def provider_health(db: Database, *, failures_to_open: int = 5, window: timedelta = WINDOW,
                    now: datetime | None = None) -> dict[str, ProviderHealth]:
    """Each provider that was tried in the window, by name (a provider missing here had no traffic)."""
    since = (now or utcnow()) - window
    with db.read() as conn:
        rows = conn.execute(select(tasks.c.attempts_json).where(
            tasks.c.attempts_json.is_not(None), tasks.c.finished_at >= since)
            .order_by(tasks.c.finished_at.desc(), tasks.c.id.desc()).limit(MAX_TASKS)).all()
    events: dict[str, list[tuple[str, str | None, float | None]]] = {}
    for (raw,) in reversed(rows):  # oldest first: the last failures in a row are the newest
        for a in _attempts(raw):
            name, outcome = a.get("provider"), a.get("outcome")
            if isinstance(name, str) and isinstance(outcome, str) and outcome != "client_error":
                reason = a.get("reason")
                events.setdefault(name, []).append((outcome, reason if isinstance(reason, str) else None, _latency(a)))
    return {name: _judge(ev, failures_to_open, window) for name, ev in events.items()}


def configured_health(db: Database, config: ProvidersConfig, *, failures_to_open: int = 5,
                      window: timedelta = WINDOW) -> dict[str, ProviderHealth]:
    """Every provider of the file (a quiet one: ``no traffic``) and any other tried in the window, by name:
    the shared breaker view that ``/metrics`` exports."""
    health = provider_health(db, failures_to_open=failures_to_open, window=window)
    names = sorted(set(config.providers) | set(health))
    return {name: health.get(name) or ProviderHealth.quiet(window) for name in names}


def model_routes(config: ProvidersConfig, models: Iterable[str], health: Mapping[str, ProviderHealth], *,
                 window: timedelta = WINDOW) -> dict[str, list[RouteStop]]:
    """Each model's route (``local`` alone when the providers file gives it none) with each stop's health."""
    return {model: [RouteStop(spec.name, spec.kind, spec.pinnable,
                              health.get(spec.name) or ProviderHealth.quiet(window))
                    for spec in config.route(model)]
            for model in models}


def coverage(db: Database, config: ProvidersConfig, models: Iterable[str], *, failures_to_open: int = 5,
             window: timedelta = WINDOW, now: datetime | None = None) -> dict[str, list[RouteStop]]:
    """The decision panel's and ``GET /api/v1/models``' coverage: routes with the last hour's health."""
    health = provider_health(db, failures_to_open=failures_to_open, window=window, now=now)
    return model_routes(config, models, health, window=window)
