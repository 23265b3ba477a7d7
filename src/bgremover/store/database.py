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
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

        def probe() -> int:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

        return probe

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
