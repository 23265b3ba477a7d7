"""No room for the bytes: a full disk or a full database, recognised once, at the store's edge, as StorageFull.

``Database.write`` and ``LocalResultStore.put`` map what they hit here; above the store nobody sniffs errnos
or SQLSTATEs again. The one other disk write, Starlette spooling a large upload, goes through
:func:`disk_full_as_storage_full` too.
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from bgremover.errors import StorageFull

log = logging.getLogger(__name__)

# "No room for these bytes": a full disk, a full quota, or a file-size limit. None is the client's fault.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# The same, said by a database: PostgreSQL's SQLSTATE disk_full (a relation could not be extended) and
# SQLite's SQLITE_FULL (its file, or its WAL, could not grow).
POSTGRES_DISK_FULL = "53100"
SQLITE_FULL_MESSAGE = "database or disk is full"
NO_SPACE = "the server has no space left to store data; try again later"


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def _driver_errors(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver's error SQLAlchemy wraps (``.orig``), and their causes: where a database says why."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        e = pending.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, e.__cause__]


def _is_sqlite_full(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # the extended code; its low byte is the primary one
    return (code & 0xFF) == sqlite3.SQLITE_FULL if isinstance(code, int) else SQLITE_FULL_MESSAGE in str(exc)


def is_database_full(exc: BaseException) -> bool:
    """Whether a database error means "no space left": a full disk seen through PostgreSQL or SQLite, which
    the client should read as ``storage_full`` (retry later), not as a database that is down.

    Duck-typed on psycopg's ``sqlstate``, so neither SQLAlchemy nor the driver is needed to ask.
    """
    return any(getattr(e, "sqlstate", None) == POSTGRES_DISK_FULL or _is_sqlite_full(e)
               for e in _driver_errors(exc))


def _space_error(exc: BaseException) -> BaseException:
    """What to log: the driver's message (it names the file) rather than SQLAlchemy's, which quotes the blob."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


@contextmanager
def disk_full_as_storage_full(message: str = NO_SPACE) -> Iterator[None]:
    """Re-raise a full disk inside the block as :class:`StorageFull` with ``message``, which names no path.

    A full disk is an OSError (files) or a database error (:func:`is_database_full`). The error (with its path,
    if any) goes to the log, where the operator who must free space reads it, and stays chained as
    ``__cause__``; a store's generic StorageFull from below is re-worded with ``message``; any other error passes
    through unchanged. The database's transaction has rolled back by then, so the caller records the failure
    in a fresh one.
    """
    try:
        yield
    except StorageFull as exc:
        if exc.message != NO_SPACE or message == NO_SPACE:
            raise
        raise StorageFull(message) from exc.__cause__ or exc  # the store's generic words, said for this caller
    except Exception as exc:
        if not (is_disk_full(exc) or is_database_full(exc)):
            raise
        log.error("no space left to store data: %s", _space_error(exc))
        raise StorageFull(message) from exc
