"""A database out of space reads as a full disk: real full file systems, the database's own error, no mocks.

SQLite says SQLITE_FULL ("database or disk is full") and PostgreSQL SQLSTATE 53100 ``disk_full``, both wrapped by
SQLAlchemy as OperationalError. ``is_database_full`` recognises them (and nothing else), so storing a blob in the
database store fails as ``storage_full``, like the file store on ENOSPC.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bgremover.errors import StorageFull
from bgremover.store.space import disk_full_as_storage_full, is_database_full, is_disk_full
from bgremover.store.database import Database
from bgremover.store.migrate import upgrade
from bgremover.store.results import DatabaseResultStore
from store.disk_full import fill_database, tiny_tmpfs
from store.postgres_cluster import postgres_on_tiny_tmpfs

MESSAGE = "the server has no space left to store the result; try again later"


@pytest.fixture
def sqlite_on_tiny_tmpfs(tmp_path) -> Iterator[Database]:
    """A migrated SQLite database (WAL, as the service opens it) alone on a 512 KiB tmpfs."""
    with tiny_tmpfs(tmp_path / "db", "512k") as mount:
        db = Database.from_url(f"sqlite:///{mount / 'bgremover.db'}")
        upgrade(db.engine)
        try:
            yield db
        finally:
            db.dispose()


def test_a_full_sqlite_database_fails_the_put_as_database_full(sqlite_on_tiny_tmpfs):
    """Blobs until the file system is full: SQLite answers SQLITE_FULL, which reads as a full database (not as a
    full disk's OSError), and turns into StorageFull with the database's error as its cause. The blobs that fit
    are intact and the one that did not is not stored."""
    store = DatabaseResultStore(sqlite_on_tiny_tmpfs)
    stored, full = fill_database(store, (16_384,))
    assert isinstance(full, OperationalError) and "database or disk is full" in str(full.orig)
    assert is_database_full(full) and is_database_full(full.orig)
    assert not is_disk_full(full)
    with pytest.raises(StorageFull) as caught, disk_full_as_storage_full(MESSAGE):
        store.put("result.png", os.urandom(65_536))
    assert caught.value.code == "storage_full" and caught.value.message == MESSAGE
    assert is_database_full(caught.value.__cause__)
    assert store.get("result.png") is None
    assert len(stored) >= 5 and all(len(store.get(k) or b"") == 16_384 for k in stored)


@pytest.mark.slow
def test_a_full_postgres_database_fails_the_put_with_sqlstate_53100():
    """A throw-away cluster whose data directory is a 32 MiB tmpfs: blobs until PostgreSQL cannot extend the
    table, SQLSTATE 53100 ``disk_full``, which reads as a full database and turns into StorageFull. The failed
    transaction rolled back whole, and the next one on the pool works: the failure can be recorded."""
    import psycopg

    with postgres_on_tiny_tmpfs("32m") as pg:
        db = Database.from_url(pg.url)
        try:
            upgrade(db.engine)
            store = DatabaseResultStore(db)
            stored, full = fill_database(store, (1 << 20, 1 << 14))
            assert isinstance(full, OperationalError) and isinstance(full.orig, psycopg.errors.DiskFull)
            assert full.orig.sqlstate == "53100" and is_database_full(full)
            with pytest.raises(StorageFull) as caught, disk_full_as_storage_full(MESSAGE):
                store.put("result.png", os.urandom(1 << 16))
            assert is_database_full(caught.value.__cause__)
            assert store.get("result.png") is None
            assert len(store.get(stored[0]) or b"") == 1 << 20
            with db.write() as conn:  # a fresh transaction, not the aborted one
                assert conn.execute(text("SELECT count(*) FROM result_blobs")).scalar_one() == len(stored)
        finally:
            db.dispose()


def test_other_database_errors_are_not_a_full_database(db, tmp_path):
    """A missing table, a duplicate key, a server that is not there: real errors, none of them "full", and each
    passes through disk_full_as_storage_full unchanged (a database that is down still answers 503)."""
    from bgremover.store.engine import make_engine
    from bgremover.store.tables import result_blobs, utcnow
    from web.service_process import free_port

    errors: list[BaseException] = []
    with pytest.raises(OperationalError if db.dialect == "sqlite" else DBAPIError) as missing, db.read() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    errors.append(missing.value)
    DatabaseResultStore(db).put("k.png", b"x")
    with pytest.raises(IntegrityError) as duplicate, db.write() as conn:
        conn.execute(result_blobs.insert().values(key="k.png", data=b"y", created_at=utcnow()))
    errors.append(duplicate.value)
    nobody = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
                         connect_args={"connect_timeout": 2})
    with pytest.raises(OperationalError) as down:
        nobody.connect()
    errors.append(down.value)
    for exc in errors:
        assert not is_database_full(exc), exc
        with pytest.raises(type(exc)) as passed, disk_full_as_storage_full(MESSAGE):
            raise exc
        assert passed.value is exc
