"""Per-provider figures read from the tasks table that every process shares: what ``/metrics`` exports and
what the admin page's margin table shows. The routers' own figures live in each worker process (which
exports no metrics), so the API reads the attempts the workers recorded (``service/provenance.py``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bgremover.service.outcomes import SUCCEEDED
from bgremover.service.provenance import attempts_of
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

WINDOW = timedelta(hours=1)
MAX_TASKS = 20_000  # one hour of a busy endpoint, read per scrape; the newest first (as service/coverage.py)


@dataclass
class ProviderActivity:
    """One provider's attempts in a window: by outcome, failures by reason, latencies of its successes."""

    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latencies_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ProviderMargin:
    provider: str
    tasks_served: int
    credits_earned: int  # what our clients paid for the tasks it served
    upstream_cost: float  # what it charged us: its successes, and its 200s that failed our checks

    @property
    def margin(self) -> float:
        return self.credits_earned - self.upstream_cost


def provider_activity(db: Database, *, window: timedelta = WINDOW) -> dict[str, ProviderActivity]:
    """Every attempt of the tasks that finished within ``window`` (the newest ``MAX_TASKS``), per provider."""
    with db.read() as conn:
        rows = conn.execute(select(tasks.c.attempts_json).where(
            tasks.c.finished_at >= utcnow() - window, tasks.c.attempts_json.is_not(None))
            .order_by(tasks.c.finished_at.desc()).limit(MAX_TASKS)).scalars().all()
    activity: dict[str, ProviderActivity] = defaultdict(ProviderActivity)
    for attempts_json in rows:
        for a in attempts_of(attempts_json):
            figures = activity[a["provider"]]
            figures.attempts[a["outcome"]] += 1
            if a["outcome"] == "failed":
                figures.failures[a["reason"] or "unknown"] += 1
            elif a["outcome"] == "succeeded":
                figures.latencies_s.append(float(a["latency_s"]))
    return dict(activity)


def provider_margins(db: Database, *, since: datetime | None = None) -> list[ProviderMargin]:
    """Credits earned vs upstream cost per provider (all time, or since ``since``), largest revenue first."""
    when = [tasks.c.finished_at >= since] if since else []
    # An attempt costs us only when it succeeded, or when its 200 failed our checks (bad_result): a task without
    # such a rejected answer cost exactly its serving provider's price, summed in SQL; the few with one are read
    # attempt by attempt. So a scrape reads aggregates, not every costed task since the start.
    rejected = tasks.c.attempts_json.contains('"bad_result"', autoescape=True)
    with db.read() as conn:
        earned = func.coalesce(func.sum(tasks.c.credits_charged), 0)
        served = conn.execute(select(tasks.c.provider, func.count(), earned).where(
            tasks.c.status == SUCCEEDED, tasks.c.provider.is_not(None), *when).group_by(tasks.c.provider)).all()
        plain = conn.execute(select(tasks.c.provider, func.sum(tasks.c.upstream_cost)).where(
            tasks.c.upstream_cost > 0, tasks.c.provider.is_not(None), ~rejected, *when)
            .group_by(tasks.c.provider)).all()
        mixed = conn.execute(select(tasks.c.attempts_json).where(
            tasks.c.upstream_cost > 0, rejected, *when)).scalars().all()
    cost: dict[str, float] = defaultdict(float)
    for provider, total in plain:
        cost[str(provider)] += float(total)
    for attempts_json in mixed:
        for a in attempts_of(attempts_json):
            cost[a["provider"]] += float(a["cost"])
    counts = {str(p): (int(n), int(earned)) for p, n, earned in served}
    names = sorted(set(counts) | set(cost))
    rows = [ProviderMargin(p, counts.get(p, (0, 0))[0], counts.get(p, (0, 0))[1], round(cost.get(p, 0.0), 6))
            for p in names]
    return sorted(rows, key=lambda m: (-m.credits_earned, m.provider))
