"""On PostgreSQL the operator migrates (``bgremover db upgrade``); ``serve`` migrates only its own SQLite."""
from __future__ import annotations

import os
import subprocess

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bgremover.store.engine import make_engine
from bgremover.store.migrate import alembic_config
from scaleout.cluster import migrate, scaleout_env
from web.service_process import BIN, ServiceProcess

pytestmark = pytest.mark.scaleout


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head
    return head


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_builds_the_schema_and_is_repeatable(schema, redis_ns, tmp_path):
    env = scaleout_env(tmp_path / "data", schema, redis_ns)
    assert migrate(env, tmp_path).strip() == f"database at revision {_head()}"
    assert migrate(env, tmp_path).strip() == f"database at revision {_head()}", "a second run changes nothing"
    assert {"accounts", "api_keys", "ledger_entries", "tasks", "result_blobs", "alembic_version"} <= _tables(schema.url)
    current = subprocess.run([str(BIN), "db", "current"], env={**os.environ, **env}, capture_output=True, text=True,
                             cwd=tmp_path, timeout=60)
    assert current.stdout.strip() == _head()


def test_serve_leaves_a_shared_database_to_the_operator(schema, redis_ns, tmp_path):
    env = scaleout_env(tmp_path / "data", schema, redis_ns)
    api = ServiceProcess(mode="scaleout", env=env, data_dir=tmp_path / "data", log_path=tmp_path / "serve.log",
                         args=["--api-only"]).start()
    try:
        assert _tables(schema.url) == set(), "serve did not migrate PostgreSQL by itself"
    finally:
        api.stop()
