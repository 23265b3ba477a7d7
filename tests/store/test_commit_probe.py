"""Database.commit_probe: on SQLite a number that moves with every commit of another connection, and stays put
otherwise; where no such probe exists it says so (None), and callers query instead."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from bgremover.store.database import Database


def test_the_probe_moves_with_each_commit_and_only_then(db):
    probe = db.commit_probe()
    if db.dialect != "sqlite":
        assert probe is None
        return
    assert probe is not None
    before = probe()
    assert probe() == before  # nothing committed: the same number
    with db.read() as conn:
        conn.execute(text("SELECT count(*) FROM tasks"))
    assert probe() == before  # a read is not a commit
    with db.write() as conn:
        conn.execute(text("CREATE TABLE probe_check (x INTEGER)"))
        conn.execute(text("INSERT INTO probe_check VALUES (1)"))
    after = probe()
    assert after != before
    assert probe() == after


def test_an_in_memory_database_has_no_probe():
    assert Database.from_url("sqlite://").commit_probe() is None
    assert Database.from_url("sqlite:///:memory:").commit_probe() is None


def test_dispose_closes_the_probes_connection_and_the_probe_still_works_after(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'probe.db'}")
    probe = db.commit_probe()
    assert probe is not None and isinstance(probe(), int)
    opened = db._probe_conn
    db.dispose()  # what an app's shutdown does: nothing of the probe's is left open
    assert db._probe_conn is None and opened is not None
    with pytest.raises(sqlite3.ProgrammingError):
        opened.execute("SELECT 1")
    assert isinstance(probe(), int)  # an app started again on the same handle probes again
    db.dispose()
