"""The machine's PostgreSQL and Redis, fenced off per test: a schema of its own, a Redis key prefix of its own.

A scale-out test never touches data it did not create: the schema is dropped and the prefixed keys are
deleted afterwards. A test that must *restart* Redis starts its own throw-away ``redis-server`` on a free
loopback port (:class:`OwnRedis`) and never the shared one.
"""
from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

import redis
from sqlalchemy import text

from bgremover.store.engine import make_engine
from conftest import require

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_reachable(url: str = PG_URL) -> bool:
    try:
        engine = make_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def redis_reachable(url: str = REDIS_URL) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        ok = bool(client.ping())
        client.close()
        return ok
    except redis.RedisError:
        return False


def require_services() -> None:
    """PostgreSQL and Redis on loopback, or a clear failure (CI) / skip (elsewhere)."""
    require(postgres_reachable(), f"PostgreSQL is not reachable at {PG_URL} (the scale-out tests need it)")
    require(redis_reachable(), f"Redis is not reachable at {REDIS_URL} (the scale-out tests need it)")


def new_name() -> str:
    """A name valid as a PostgreSQL schema and as a Huey queue name (Huey keeps only [A-Za-z0-9_])."""
    return f"bgr_{secrets.token_hex(5)}"


class PgSchema:
    """``CREATE SCHEMA`` now, ``DROP SCHEMA … CASCADE`` on :meth:`drop`; :attr:`url` pins the search_path."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or new_name()
        # application_name tags this test's connections, so drop() can end those its killed processes left.
        self.url = f"{PG_URL}?options={quote(f'-csearch_path={self.name}')}&application_name={self.name}"
        self._admin = make_engine(PG_URL)
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))

    def drop(self) -> None:
        with self._admin.begin() as conn:
            # Connections of killed processes may linger a moment; they hold no locks worth waiting for.
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE pid <> pg_backend_pid() AND application_name = :name"), {"name": self.name})
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


class ConnectionWatch:
    """While open, samples how many PostgreSQL connections carry ``application_name`` (a fleet's schema name);
    :attr:`peak` is the most seen at once. Its own sampling connection is not counted."""

    def __init__(self, application_name: str) -> None:
        self.name, self.peak = application_name, 0
        self._engine = make_engine(PG_URL, pool_size=1, max_overflow=0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with self._engine.connect() as conn:
            while not self._stop.wait(0.02):
                n = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                 {"name": self.name}).scalar_one()
                conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                self.peak = max(self.peak, int(n))

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._engine.dispose()


class RedisNamespace:
    """A key prefix on a Redis; :meth:`cleanup` deletes every key this prefix made (queue and counters)."""

    def __init__(self, url: str = REDIS_URL, prefix: str | None = None) -> None:
        self.url, self.prefix = url, prefix or new_name()

    def keys(self) -> list[bytes]:
        client = redis.Redis.from_url(self.url)
        try:
            found: list[bytes] = []
            for pattern in (f"{self.prefix}:*", f"huey.*.{self.prefix}", f"huey.*.{self.prefix}.*"):
                found += list(client.scan_iter(match=pattern, count=1000))
            return found
        finally:
            client.close()

    def cleanup(self) -> None:
        try:
            keys = self.keys()
            if keys:
                client = redis.Redis.from_url(self.url)
                client.delete(*keys)
                client.close()
        except redis.RedisError:
            pass  # an own redis-server that is already gone took its keys with it


class OwnRedis:
    """A throw-away ``redis-server`` on a free loopback port, without persistence, that a test may restart."""

    def __init__(self, workdir: Path) -> None:
        require(shutil.which("redis-server") is not None, "redis-server is not installed")
        self.port, self.workdir = free_port(), workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_reachable(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # like a crash: nothing is saved (and nothing would be: --save '')
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()
