"""The worker's side of the task state machine: claim with a lease, heartbeat, finish once, reap lost leases.

A claim is a conditional UPDATE (``WHERE status = 'queued'``) that also sets a random lease token. Only the
holder of the current token can finish the task, and finishing is another conditional UPDATE: so a task
whose worker died and which then ran again elsewhere is still charged (or refunded) exactly once
(``service/outcomes.py``: the final state and its settlement in one transaction).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bgremover.config import Settings
from bgremover.imaging.compose import ForegroundBox
from bgremover.service.outcomes import FAILED, PROCESSING, QUEUED, SUCCEEDED, finish_task
from bgremover.service.provenance import Provenance
from bgremover.service.tasks import TaskQueue, TaskRecord, get_task
from bgremover.store.database import Database
from bgremover.store.tables import tasks, utcnow

log = logging.getLogger(__name__)

LEASE_EXPIRED = "task_lease_expired"


@dataclass(frozen=True)
class Claim:
    task: TaskRecord
    token: str


@dataclass(frozen=True)
class ResultInfo:
    key: str
    content_type: str
    width: int
    height: int
    bytes: int
    foreground_box: ForegroundBox | None = None  # the subject's box, known to the producer; None: measure later


def claim_task(db: Database, settings: Settings, task_id: str) -> Claim | None:
    """Take a queued task for this worker, or None if it is not queued (canceled, done, or taken)."""
    token = secrets.token_hex(16)
    now = utcnow()
    with db.write() as conn:
        res = conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == QUEUED).values(
            status=PROCESSING, attempts=tasks.c.attempts + 1, lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.task_lease_s),
            started_at=func.coalesce(tasks.c.started_at, now)))
        if res.rowcount != 1:
            return None
    return Claim(get_task(db, task_id), token)


def extend_lease(db: Database, settings: Settings, claim: Claim) -> bool:
    """Heartbeat: push the lease out; False when the lease was lost (reaped) meanwhile."""
    with db.write() as conn:
        res = conn.execute(update(tasks).where(tasks.c.id == claim.task.id, tasks.c.status == PROCESSING,
                                               tasks.c.lease_token == claim.token)
                           .values(lease_expires_at=utcnow() + timedelta(seconds=settings.task_lease_s)))
        return res.rowcount == 1


def _finish_leased(db: Database, claim: Claim, status: str, busy_s: float, **values: Any) -> bool:
    """The lease holder's finish: only while the task is processing under this claim's token."""
    with db.write() as conn:
        return finish_task(conn, task_id=claim.task.id, account_id=claim.task.account_id,
                           reserved=claim.task.credits_reserved, status=status,
                           where=(tasks.c.status == PROCESSING, tasks.c.lease_token == claim.token),
                           lease_token=None, lease_expires_at=None, busy_s=tasks.c.busy_s + busy_s, **values)


def complete_task(db: Database, settings: Settings, claim: Claim, result: ResultInfo, busy_s: float,
                  provenance: Provenance | None = None) -> bool:
    """processing → succeeded and charge, once; the result blob must already be stored completely."""
    now = utcnow()
    return _finish_leased(db, claim, SUCCEEDED, busy_s, **_columns(provenance), finished_at=now, result_key=result.key,
                          result_content_type=result.content_type, result_width=result.width,
                          result_height=result.height, result_bytes=result.bytes, result_box=_box_text(result),
                          result_expires_at=now + timedelta(seconds=settings.result_ttl_s))


def fail_task(db: Database, claim: Claim, code: str, message: str, busy_s: float = 0.0,
              provenance: Provenance | None = None) -> bool:
    """processing → failed and refund, once."""
    return _finish_leased(db, claim, FAILED, busy_s, **_columns(provenance), error_code=code,
                          error_message=message[:1000])


def _box_text(result: ResultInfo) -> str | None:
    return None if result.foreground_box is None else ",".join(str(int(v)) for v in result.foreground_box)


def _columns(provenance: Provenance | None) -> dict[str, Any]:
    return provenance.columns() if provenance is not None else {}


def reap_expired_leases(db: Database, settings: Settings, queue: TaskQueue) -> dict[str, int]:
    """Re-queue processing tasks whose lease ran out (worker died), or fail and refund them after the last attempt.

    Also re-enqueues tasks that have sat queued far longer than any queue wait (a queue that lost messages).
    Safe to run in many processes at once: every change is conditional on the state it saw.
    """
    now = utcnow()
    counts = {"requeued": 0, "failed": 0, "reenqueued": 0}
    with db.read() as conn:
        expired = conn.execute(select(tasks.c.id, tasks.c.attempts, tasks.c.lease_token, tasks.c.account_id,
                                      tasks.c.credits_reserved)
                               .where(tasks.c.status == PROCESSING, tasks.c.lease_expires_at < now).limit(500)).all()
        # A duplicate message is harmless (claiming is conditional), so this errs on the side of re-sending.
        stale_before = now - timedelta(seconds=settings.task_requeue_after_s)
        stale = conn.execute(select(tasks.c.id).where(tasks.c.status == QUEUED, tasks.c.queued_at < stale_before)
                             .limit(500)).scalars().all()
    for t in expired:
        cond = (tasks.c.id == t.id, tasks.c.status == PROCESSING, tasks.c.lease_token == t.lease_token)
        with db.write() as conn:
            if t.attempts < settings.task_max_attempts:
                res = conn.execute(update(tasks).where(*cond).values(status=QUEUED, lease_token=None,
                                                                     lease_expires_at=None, queued_at=now))
                done = res.rowcount == 1
            else:
                done = finish_task(
                    conn, task_id=t.id, account_id=t.account_id, reserved=t.credits_reserved, status=FAILED,
                    where=cond[1:], finished_at=now, lease_token=None, lease_expires_at=None,
                    error_code=LEASE_EXPIRED,
                    error_message=f"the worker stopped responding {t.attempts} times; the task was given up")
        if done and t.attempts < settings.task_max_attempts:
            counts["requeued"] += 1
            log.warning("task %s lease expired (attempt %d); re-queued", t.id, t.attempts, extra={"task_id": t.id})
            queue.enqueue(t.id)
        elif done:
            counts["failed"] += 1
            log.warning("task %s lease expired after %d attempts; failed and refunded", t.id, t.attempts,
                        extra={"task_id": t.id})
    for task_id in stale:
        with db.write() as conn:
            res = conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == QUEUED,
                                                   tasks.c.queued_at < stale_before).values(queued_at=now))
        if res.rowcount == 1:
            counts["reenqueued"] += 1
            log.warning("task %s queued too long (its message may be lost); enqueued again", task_id,
                        extra={"task_id": task_id})
            queue.enqueue(task_id)
    return counts
