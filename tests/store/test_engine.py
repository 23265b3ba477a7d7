"""Database URLs: the plain PostgreSQL spellings mean psycopg 3, the driver bgremover depends on."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from bgremover.config import load_settings
from bgremover.store.engine import engine_from_settings, make_engine, normalize_url
from conftest import require
from db_fixtures import PG_URL, _postgres_reachable


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql://u@db:5432/bgr", "postgresql+psycopg://u@db:5432/bgr"),
    ("postgres://u@db/bgr?options=-csearch_path%3Dx", "postgresql+psycopg://u@db/bgr?options=-csearch_path%3Dx"),
    ("postgresql+psycopg://u@db/bgr", "postgresql+psycopg://u@db/bgr"),
    ("sqlite:////var/lib/bgremover/bgremover.db", "sqlite:////var/lib/bgremover/bgremover.db"),
])
def test_normalize_url(given, used):
    assert normalize_url(given) == used


def test_a_plain_postgresql_url_builds_a_psycopg_engine():
    engine = make_engine("postgresql://u@127.0.0.1:9/bgr")  # no connection is made until used
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    engine.dispose()


@pytest.mark.scaleout
def test_a_process_never_holds_more_postgresql_connections_than_its_pool_and_overflow():
    """Eight threads at once on a pool of 1 + 1: two connections at most, the others wait their turn and succeed.
    A fleet's connections therefore add up to processes x (pool + overflow), under the server's max_connections."""
    require(_postgres_reachable(), f"PostgreSQL is not reachable at {PG_URL}")
    tag = f"pooltest_{secrets.token_hex(4)}"
    settings = load_settings(database_url=f"{PG_URL}?application_name={tag}", db_pool_size=1, db_max_overflow=1)
    engine, admin = engine_from_settings(settings), make_engine(PG_URL, pool_size=1, max_overflow=0)
    seen: list[int] = []

    def held() -> int:
        with admin.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :t"),
                                    {"t": tag}).scalar_one())

    def query(_: int) -> int:
        with engine.connect() as conn:
            seen.append(held())
            return int(conn.execute(text("SELECT 1 FROM pg_sleep(0.2)")).scalar_one())

    try:
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(query, range(8))) == [1] * 8
        assert len(seen) == 8 and max(seen) == 2, seen  # both were used, never a third
    finally:
        engine.dispose()
        admin.dispose()
