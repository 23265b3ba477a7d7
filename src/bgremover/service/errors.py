"""Errors of the service layer, each with a stable ``code`` (HTTP statuses are chosen in ``web/errors.py``).

    BgRemoverError (bgremover.errors)
    └── ServiceError
        ├── ValidationFailed       validation_error
        ├── ProviderNotAllowed     provider_not_allowed: a request pinned a provider the operator does not offer
        ├── Unauthorized           unauthorized: no, unknown or revoked API key
        ├── InsufficientCredits    insufficient_credits
        ├── RateLimited            rate_limited: requests per minute or tasks in flight over the limit
        ├── QueueFull              queue_full: back-pressure, the queue is deeper than max_queue_depth
        ├── StorageFull            storage_full: no space (or quota) left to store an upload or a result
        ├── TaskNotFound           task_not_found (also for another account's task)
        ├── TaskNotCancelable      task_not_cancelable: only queued tasks can be canceled
        ├── ResultNotReady         result_not_ready
        ├── ResultExpired          result_expired
        ├── IdempotencyConflict    idempotency_conflict: same key, different request
        ├── AccountNotFound        account_not_found
        ├── AccountExists          account_exists
        └── KeyNotFound            key_not_found
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from bgremover.errors import BgRemoverError

log = logging.getLogger(__name__)

# "No room for these bytes": a full disk, a full quota, or a file-size limit. None is the client's fault.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# The same, said by a database: PostgreSQL's SQLSTATE disk_full (a relation could not be extended) and
# SQLite's SQLITE_FULL (its file, or its WAL, could not grow).
POSTGRES_DISK_FULL = "53100"
SQLITE_FULL_MESSAGE = "database or disk is full"


class ServiceError(BgRemoverError):
    code = "service_error"


class ValidationFailed(ServiceError):
    code = "validation_error"


class ProviderNotAllowed(ServiceError):
    code = "provider_not_allowed"


class Unauthorized(ServiceError):
    code = "unauthorized"


class InsufficientCredits(ServiceError):
    code = "insufficient_credits"


class RateLimited(ServiceError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, limit: int, remaining: int = 0, reset: int = 0,
                 scope: str = "requests") -> None:
        super().__init__(message)
        self.retry_after, self.limit, self.remaining = retry_after, limit, remaining
        self.reset, self.scope = reset, scope


class QueueFull(ServiceError):
    code = "queue_full"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageFull(ServiceError):
    """The server could not store bytes for lack of space: transient, and nothing is charged for it."""

    code = "storage_full"


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

    Duck-typed on psycopg's ``sqlstate`` so this layer needs neither SQLAlchemy nor the driver to import.
    """
    return any(getattr(e, "sqlstate", None) == POSTGRES_DISK_FULL or _is_sqlite_full(e)
               for e in _driver_errors(exc))


def _space_error(exc: BaseException) -> BaseException:
    """What to log: the driver's message (it names the file) rather than SQLAlchemy's, which quotes the blob."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


@contextmanager
def disk_full_as_storage_full(message: str) -> Iterator[None]:
    """Re-raise a full disk inside the block as :class:`StorageFull` with ``message``, which names no path.

    A full disk is an OSError (files) or a database error (blobs stored in the database, see
    :func:`is_database_full`). The error (with its path, if any) goes to the log, where the operator who must
    free space reads it, and stays chained as ``__cause__``; any other error passes through unchanged. The
    database's transaction has rolled back by then, so the caller records the failure in a fresh one.
    """
    try:
        yield
    except Exception as exc:
        if not (is_disk_full(exc) or is_database_full(exc)):
            raise
        log.error("no space left to store data: %s", _space_error(exc))
        raise StorageFull(message) from exc


class TaskNotFound(ServiceError):
    code = "task_not_found"


class TaskNotCancelable(ServiceError):
    code = "task_not_cancelable"


class ResultNotReady(ServiceError):
    code = "result_not_ready"


class ResultExpired(ServiceError):
    code = "result_expired"


class IdempotencyConflict(ServiceError):
    code = "idempotency_conflict"


class AccountNotFound(ServiceError):
    code = "account_not_found"


class AccountExists(ServiceError):
    code = "account_exists"


class KeyNotFound(ServiceError):
    code = "key_not_found"
