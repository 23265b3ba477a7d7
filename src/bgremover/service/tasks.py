"""Tasks as the API sees them: submit (reserving credits), get, list, cancel; the worker's side: ``lifecycle.py``.

State machine (transitions are conditional UPDATEs, so each happens at most once):

    queued ──claim──▶ processing ──▶ succeeded   (charged)
      │                  │  └──────▶ failed      (refunded)
      │                  └─lease ran out─▶ queued again (attempts < max) or failed
      └──cancel──▶ canceled (refunded)
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from bgremover.config import Settings
from bgremover.service import credits
from bgremover.service.errors import IdempotencyConflict, QueueFull, TaskNotCancelable, TaskNotFound
from bgremover.service.outcomes import CANCELED, FAILED, FINAL, PROCESSING, QUEUED, SUCCEEDED, finish_task
from bgremover.store.base import ResultStore
from bgremover.store.database import Database
from bgremover.store.tables import idempotency_keys, tasks, utcnow

log = logging.getLogger(__name__)

__all__ = ["CANCELED", "FAILED", "FINAL", "PROCESSING", "QUEUED", "SUCCEEDED", "TaskQueue", "TaskRecord",
           "TaskRequest", "cancel_task", "get_task", "list_tasks", "submit_task"]


class TaskQueue(Protocol):
    """Where accepted task ids go for the workers (Huey on SQLite or Redis, see ``jobs/queue.py``)."""

    def enqueue(self, task_id: str) -> None: ...

    def ping(self) -> None: ...


@dataclass(frozen=True)
class TaskRequest:
    model: str
    output_format: str = "png"
    options: dict[str, Any] = field(default_factory=dict)  # channels, crop, crop_margin, bg_color
    source_url: str | None = None  # http(s) URL fetched by the worker ...
    input_data: bytes | None = None  # ... or the image bytes themselves (upload, data: URI)

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps([self.model, self.output_format, self.options, self.source_url],
                                      sort_keys=True).encode())
        if self.input_data is not None:
            h.update(hashlib.sha256(self.input_data).digest())
        return h.hexdigest()


@dataclass(frozen=True)
class TaskRecord:
    id: str
    account_id: int
    status: str
    model: str
    output_format: str
    options: dict[str, Any]
    source_url: str | None
    input_key: str | None
    credits_reserved: int
    credits_charged: int
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    result_key: str | None
    result_content_type: str | None
    result_width: int | None
    result_height: int | None
    result_bytes: int | None
    result_expires_at: datetime | None
    result_box: str | None = None  # "top,left,width,height" of the subject in the result; None: not recorded
    provider: str | None = None  # who served it (providers file); None: no provider layer ran, or none served

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def result_available(self) -> bool:
        """Succeeded, and its result not yet past its expiry."""
        return self.status == SUCCEEDED and self.result_expires_at is not None and self.result_expires_at > utcnow()


def record(row: Any) -> TaskRecord:
    m = dict(row._mapping)
    m["options"] = json.loads(m.get("options") or "{}")
    return TaskRecord(**{k: m[k] for k in TaskRecord.__dataclass_fields__})


def get_task(db: Database, task_id: str, *, account_id: int | None = None) -> TaskRecord:
    """The task; with ``account_id``, only that account's (another's answers TaskNotFound, like a missing one)."""
    cond = [tasks.c.id == task_id]
    if account_id is not None:
        cond.append(tasks.c.account_id == account_id)
    with db.read() as conn:
        row = conn.execute(select(tasks).where(*cond)).first()
    if row is None:
        raise TaskNotFound(f"no task {task_id}")
    return record(row)


def task_status(db: Database, task_id: str) -> str:
    """The status alone: for a caller that polls, without loading the task's options and result fields."""
    with db.read() as conn:
        status = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar_one_or_none()
    if status is None:
        raise TaskNotFound(f"no task {task_id}")
    return str(status)


def list_tasks(db: Database, *, account_id: int, limit: int = 20, offset: int = 0,
               status: str | None = None) -> tuple[list[TaskRecord], int]:
    cond = [tasks.c.account_id == account_id]
    if status:
        cond.append(tasks.c.status == status)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(tasks).where(*cond)).scalar_one()
        rows = conn.execute(select(tasks).where(*cond).order_by(tasks.c.created_at.desc(), tasks.c.id)
                            .limit(limit).offset(offset)).all()
    return [record(r) for r in rows], int(total)


def queue_depth(db: Database) -> int:
    with db.read() as conn:
        return _queued(conn)


def _queued(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(tasks).where(tasks.c.status == QUEUED)).scalar_one())


def idempotency_ttl(settings: Settings) -> timedelta:
    """How long an Idempotency-Key is remembered: a retry within it gets the same task, a later one a new task."""
    return timedelta(seconds=settings.idempotency_ttl_s)


def _idempotent_task(conn: Connection, account_id: int, key: str, fingerprint: str,
                     remembered_since: datetime) -> str | None:
    """The task of a key used since ``remembered_since``; an older use is forgotten, as if never seen."""
    row = conn.execute(select(idempotency_keys.c.task_id, idempotency_keys.c.request_hash).where(
        idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key,
        idempotency_keys.c.created_at > remembered_since)).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was used for a different request")
    return str(row.task_id)


def _forget_expired_key(conn: Connection, account_id: int, key: str, remembered_since: datetime) -> None:
    """Free an expired key for its reuse, in the transaction that inserts it again (else: the unique constraint)."""
    conn.execute(delete(idempotency_keys).where(
        idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key,
        idempotency_keys.c.created_at <= remembered_since))


def forget_expired_idempotency_keys(db: Database, *, ttl: timedelta, now: datetime | None = None,
                                    batch: int = 1000) -> int:
    """Delete every key older than ``ttl`` (the workers' maintenance), in short transactions; the number deleted.

    Reuse forgets an expired key by itself; this keeps the table from growing with keys nobody sends again.
    """
    remembered_since = (now or utcnow()) - ttl
    deleted = 0
    while True:
        with db.write() as conn:
            due = select(idempotency_keys.c.id).where(idempotency_keys.c.created_at <= remembered_since).limit(batch)
            count = conn.execute(delete(idempotency_keys).where(idempotency_keys.c.id.in_(due))).rowcount
        deleted += count
        if count < batch:
            break
    if deleted:
        log.info("forgot %d expired idempotency keys", deleted)
    return deleted


def submit_task(db: Database, blobs: ResultStore, queue: TaskQueue, settings: Settings, *, account_id: int,
                request: TaskRequest, credits_cost: int, idempotency_key: str | None = None) -> tuple[TaskRecord, bool]:
    """Reserve credits and create a queued task in one transaction, then enqueue it.

    Returns the task and whether it was created now (False: an earlier request with the same Idempotency-Key).
    """
    fingerprint = request.fingerprint()
    remembered_since = utcnow() - idempotency_ttl(settings)
    if idempotency_key:
        with db.read() as conn:
            existing = _idempotent_task(conn, account_id, idempotency_key, fingerprint, remembered_since)
        if existing:
            return get_task(db, existing), False
    if queue_depth(db) >= settings.max_queue_depth:
        raise QueueFull(f"the queue holds {settings.max_queue_depth} tasks or more; retry later")
    task_id = str(uuid.uuid4())
    input_key = f"{task_id}.in" if request.input_data is not None else None
    if input_key:
        blobs.put(input_key, request.input_data)  # type: ignore[arg-type]
    now = utcnow()
    try:
        with db.write() as conn:
            # again inside the write transaction: concurrent submissions all passed the check above
            # (on SQLite writers are serialised, so this count is exact; on PostgreSQL it narrows the race)
            if _queued(conn) >= settings.max_queue_depth:
                raise QueueFull(f"the queue holds {settings.max_queue_depth} tasks or more; retry later")
            credits.reserve(conn, account_id=account_id, task_id=task_id, amount=credits_cost,
                            max_in_flight=settings.max_tasks_in_flight)
            conn.execute(insert(tasks).values(
                id=task_id, account_id=account_id, status=QUEUED, model=request.model,
                output_format=request.output_format, options=json.dumps(request.options, sort_keys=True),
                source_url=request.source_url, input_key=input_key, credits_reserved=credits_cost,
                credits_charged=0, attempts=0, queued_at=now, created_at=now, busy_s=0.0))
            if idempotency_key:
                _forget_expired_key(conn, account_id, idempotency_key, remembered_since)
                conn.execute(insert(idempotency_keys).values(account_id=account_id, key=idempotency_key,
                                                             request_hash=fingerprint, task_id=task_id, created_at=now))
    except IntegrityError:  # a concurrent request with the same Idempotency-Key won; ours rolled back whole
        if input_key:
            blobs.delete(input_key)
        with db.read() as conn:
            existing = _idempotent_task(conn, account_id, idempotency_key or "", fingerprint, remembered_since)
        if existing is None:
            raise
        return get_task(db, existing), False
    except BaseException:
        if input_key:
            blobs.delete(input_key)
        raise
    try:
        queue.enqueue(task_id)
    except Exception:  # the row is committed: the reaper re-enqueues stale queued tasks
        log.exception("enqueue failed for task %s; the reaper will retry", task_id)
    return get_task(db, task_id), True


def cancel_task(db: Database, blobs: ResultStore, *, task_id: str, account_id: int) -> TaskRecord:
    with db.write() as conn:
        row = conn.execute(select(tasks.c.status, tasks.c.credits_reserved, tasks.c.input_key).where(
            tasks.c.id == task_id, tasks.c.account_id == account_id)).first()
        if row is None:
            raise TaskNotFound(f"no task {task_id}")
        if not finish_task(conn, task_id=task_id, account_id=account_id, reserved=row.credits_reserved,
                           status=CANCELED, where=(tasks.c.status == QUEUED,), error_code=None):
            raise TaskNotCancelable(f"task {task_id} is {row.status}; only queued tasks can be canceled")
    if row.input_key:
        blobs.delete(row.input_key)
    return get_task(db, task_id)
