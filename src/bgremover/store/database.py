"""A database handle: an engine plus the two kinds of transaction the service needs."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from bgremover.config import Settings
from bgremover.store.engine import engine_from_settings, make_engine
from bgremover.store.space import disk_full_as_storage_full


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._probe_conn: sqlite3.Connection | None = None  # commit_probe's: opened on use, closed by dispose()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(engine_from_settings(settings))

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that may write; committed on success, rolled back on error. A database out of space
        raises StorageFull (its error chained), here and nowhere else."""
        with disk_full_as_storage_full(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self.engine.connect().execution_options(read_only=True) as conn, conn.begin():
            yield conn

    def commit_probe(self) -> Callable[[], int] | None:
        """A number that changes whenever another connection commits, read in microseconds without SQL parsing
        or a thread: SQLite's ``PRAGMA data_version`` on a connection of its own. ``None`` where there is no
        such cheap probe (PostgreSQL, an in-memory database): the caller then simply queries."""
        path = self.engine.url.database
        if self.dialect != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
            return None

        def probe() -> int:
            if self._probe_conn is None:  # first use, or after dispose(): an engine is usable after it too
                # a short busy timeout: the probe runs on the event loop and must not wait there
                self._probe_conn = sqlite3.connect(path, timeout=0.1, check_same_thread=False, isolation_level=None)
            return int(self._probe_conn.execute("PRAGMA data_version").fetchone()[0])

        return probe

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._probe_conn is not None:
            self._probe_conn.close()
            self._probe_conn = None
        self.engine.dispose()
