"""The operator's figures of all tasks, read from the tasks table that every process shares (``/metrics``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from bgremover.service.outcomes import FAILED, STATUSES, SUCCEEDED
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

LATENCY_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class TaskFigures:
    by_status: dict[str, int]  # every status, zero included
    failures: dict[str, int]  # failed tasks by error code ("unknown" when none was recorded)
    busy_s: float  # seconds workers spent on tasks, all time
    latencies_s: list[float]  # submission to success, of the tasks that succeeded within the window


def task_figures(db: Database, *, window: timedelta = LATENCY_WINDOW) -> TaskFigures:
    since = utcnow() - window
    with db.read() as conn:
        counted: dict[str, int] = dict(
            conn.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status)).all())
        failures = conn.execute(select(tasks.c.error_code, func.count()).where(tasks.c.status == FAILED)
                                .group_by(tasks.c.error_code)).all()
        busy = conn.execute(select(func.coalesce(func.sum(tasks.c.busy_s), 0.0))).scalar_one()
        done = conn.execute(select(tasks.c.created_at, tasks.c.finished_at).where(
            tasks.c.status == SUCCEEDED, tasks.c.finished_at >= since)).all()
    by_code: dict[str, int] = {}
    for code, n in failures:
        by_code[code or "unknown"] = by_code.get(code or "unknown", 0) + int(n)
    return TaskFigures(by_status={s: int(counted.get(s, 0)) for s in STATUSES}, failures=by_code,
                       busy_s=float(busy), latencies_s=[(f - c).total_seconds() for c, f in done])
