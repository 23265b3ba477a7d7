"""Results: signed, expiring download URLs, reading a result for its owner, and deleting expired ones."""
from __future__ import annotations

import hashlib
import hmac
import logging

from sqlalchemy import select, update

from bgremover.service.constant_time import same_secret
from bgremover.service.errors import ResultExpired, ResultNotReady, TaskNotFound
from bgremover.service.tasks import SUCCEEDED, TaskRecord, get_task
from bgremover.store.base import ResultStore
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

log = logging.getLogger(__name__)


def result_signature(secret: bytes, task_id: str, expires: int) -> str:
    return hmac.new(secret, f"result:{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def verify_result_signature(secret: bytes, task_id: str, expires: int, signature: str) -> bool:
    """True for a genuine signature; expiry is checked separately (an expired result answers 410)."""
    return same_secret(result_signature(secret, task_id, expires), signature)


def result_url_query(secret: bytes, task: TaskRecord) -> str:
    assert task.result_expires_at is not None
    expires = int(task.result_expires_at.timestamp())
    return f"expires={expires}&signature={result_signature(secret, task.id, expires)}"


def read_result(db: Database, blobs: ResultStore, task_id: str, *, account_id: int | None) -> tuple[TaskRecord, bytes]:
    """The task and its result bytes; ``account_id`` None means the caller proved access with a signed URL."""
    task = get_task(db, task_id, account_id=account_id)
    if task.status != SUCCEEDED:
        if task.final:
            raise TaskNotFound(f"task {task_id} has no result: it is {task.status}")
        raise ResultNotReady(f"task {task_id} is {task.status}; poll it until it has succeeded")
    if task.result_key is None or (task.result_expires_at and task.result_expires_at <= utcnow()):
        raise ResultExpired(f"the result of task {task_id} has expired and was deleted")
    data = blobs.get(task.result_key)
    if data is None:
        raise ResultExpired(f"the result of task {task_id} has expired and was deleted")
    return task, data


def expire_results(db: Database, blobs: ResultStore, *, now_ts: float | None = None, batch: int = 500) -> int:
    """Delete result blobs past their expiry; the task keeps its metadata and its URL answers 410."""
    now = utcnow() if now_ts is None else utcnow().fromtimestamp(now_ts, tz=utcnow().tzinfo)
    with db.read() as conn:
        due = conn.execute(select(tasks.c.id, tasks.c.result_key).where(
            tasks.c.result_key.is_not(None), tasks.c.result_expires_at <= now).limit(batch)).all()
    for row in due:
        blobs.delete(row.result_key)
        with db.write() as conn:
            conn.execute(update(tasks).where(tasks.c.id == row.id, tasks.c.result_key == row.result_key)
                         .values(result_key=None))
    if due:
        log.info("deleted %d expired results", len(due))
    return len(due)


