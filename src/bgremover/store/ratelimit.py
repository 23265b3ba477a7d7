"""Fixed-window request counters: in memory (one API process), in SQL or in Redis (shared, ``redis_counters.py``)."""
from __future__ import annotations

import threading

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bgremover.config import Settings
from bgremover.store.base import RateCounter
from bgremover.store.database import Database
from bgremover.store.redis_counters import redis_rate_counter
from bgremover.store.tables import rate_counters


class MemoryRateCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, window_s: int, now: float) -> int:
        window = int(now // window_s) * window_s
        with self._lock:
            if len(self._counts) > 10_000:  # forget old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            n = self._counts.get((bucket, window), 0) + 1
            self._counts[(bucket, window)] = n
            return n

    def peek(self, bucket: str, window_s: int, now: float) -> int:
        with self._lock:
            return self._counts.get((bucket, int(now // window_s) * window_s), 0)


class SqlRateCounter:
    """One upsert per hit (``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``): atomic across processes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._insert = pg_insert if db.dialect == "postgresql" else sqlite_insert

    def hit(self, bucket: str, window_s: int, now: float) -> int:
        window = int(now // window_s) * window_s
        stmt = self._insert(rate_counters).values(bucket=bucket, window_start=window, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=["bucket", "window_start"],
                                          set_={"count": rate_counters.c.count + 1}).returning(rate_counters.c.count)
        with self.db.write() as conn:
            n = int(conn.execute(stmt).scalar_one())
            if n == 1:
                self._forget_old(conn, window - 10 * window_s)
            return n

    def peek(self, bucket: str, window_s: int, now: float) -> int:
        window = int(now // window_s) * window_s
        with self.db.read() as conn:
            n = conn.execute(select(rate_counters.c.count).where(rate_counters.c.bucket == bucket,
                                                                 rate_counters.c.window_start == window)).scalar()
        return int(n or 0)

    @staticmethod
    def _forget_old(conn: Connection, before: int) -> None:
        conn.execute(rate_counters.delete().where(rate_counters.c.window_start < before))


def make_rate_counter(db: Database, settings: Settings | None = None) -> RateCounter:
    """Redis when the deployment has one (scale-out); else SQLite means a single API process, so memory is
    enough, and any other database shares counters through SQL."""
    if settings is not None and (counter := redis_rate_counter(settings)) is not None:
        return counter
    return MemoryRateCounter() if db.dialect == "sqlite" else SqlRateCounter(db)
