"""Usage read back from the tasks table: images per day for the dashboard chart, live latency per model.

Grouping by day happens in Python over a bounded query (30 days of one account, or one hour of tasks),
so SQLite and PostgreSQL answer alike without dialect-specific date functions.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from bgremover.service.outcomes import SUCCEEDED
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow


@dataclass(frozen=True)
class DayUsage:
    day: date
    images: int  # succeeded tasks
    credits: int  # credits charged


@dataclass(frozen=True)
class LiveLatency:
    p50_s: float
    samples: int


def daily_usage(db: Database, *, account_id: int, days: int = 30) -> list[DayUsage]:
    """One entry per day (oldest first, today last), zero-filled, counting succeeded tasks."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    with db.read() as conn:
        rows = conn.execute(select(tasks.c.finished_at, tasks.c.credits_charged).where(
            tasks.c.account_id == account_id, tasks.c.status == SUCCEEDED,
            tasks.c.finished_at >= utcnow() - timedelta(days=days))).all()
    images: dict[date, int] = {}
    spent: dict[date, int] = {}
    for finished_at, charged in rows:
        d = finished_at.date()
        images[d] = images.get(d, 0) + 1
        spent[d] = spent.get(d, 0) + int(charged)
    return [DayUsage(first + timedelta(days=i), images.get(first + timedelta(days=i), 0),
                     spent.get(first + timedelta(days=i), 0)) for i in range(days)]


def live_latency(db: Database, *, window: timedelta = timedelta(hours=24)) -> dict[str, LiveLatency]:
    """Median processing time (started → finished) of each model's successes in the window."""
    with db.read() as conn:
        rows = conn.execute(select(tasks.c.model, tasks.c.started_at, tasks.c.finished_at).where(
            tasks.c.status == SUCCEEDED, tasks.c.finished_at >= utcnow() - window,
            tasks.c.started_at.is_not(None)).limit(20_000)).all()
    by_model: dict[str, list[float]] = {}
    for model, started, finished in rows:
        by_model.setdefault(model, []).append((finished - started).total_seconds())
    return {m: LiveLatency(statistics.median(v), len(v)) for m, v in by_model.items()}

