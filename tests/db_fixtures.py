"""Databases for store and service tests: a migrated SQLite file, and PostgreSQL in a schema of its own."""
from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bgremover.store.database import Database
from bgremover.store.engine import make_engine
from bgremover.store.migrate import upgrade
from conftest import require

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reachable() -> bool:
    engine = make_engine(PG_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A freshly migrated database of each kind; PostgreSQL gets a throw-away schema."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'test.db'}")
        upgrade(database.engine)
        yield database
        database.dispose()
        return
    require(_postgres_reachable(), f"PostgreSQL is not reachable at {PG_URL}")
    schema = f"t_{secrets.token_hex(6)}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}))
    try:
        upgrade(database.engine)
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
