"""Engines for the two supported databases, built from settings (never at import).

SQLite (embedded): WAL, a generous busy timeout and ``BEGIN IMMEDIATE`` so concurrent writers queue up
instead of failing on lock upgrade. PostgreSQL (scale-out): a pooled engine with a hard cap per process, so that a
fleet's connections add up to a known number (processes x (pool + overflow)) under PostgreSQL's max_connections;
past the cap a request waits for a free connection instead of the server refusing a new one.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from bgremover.config import Settings


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver we depend on), not SQLAlchemy's psycopg2."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 30.0,
                **kw: Any) -> Engine:
    """The pool arguments apply to PostgreSQL only: SQLite's file needs no connection budget."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the write lock up front; readers (Database.read) stay concurrent under WAL.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                         pool_timeout=pool_timeout, **kw)


def engine_from_settings(settings: Settings) -> Engine:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url, pool_size=settings.db_pool_size,
                       max_overflow=settings.db_max_overflow, pool_timeout=settings.db_pool_timeout_s)
