"""A task's final state and its credits, together: the one place that writes "final state ⇒ settle credits".

Every path to a final state (the worker's success or failure, the reaper giving up on a lost lease, a cancel)
is a conditional UPDATE; only the one that matched a row settles, in the same transaction, so a task is charged
(succeeded) or refunded (failed, canceled) exactly once whoever races to finish it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, update

from bgremover.service import credits
from bgremover.store.tables import tasks, utcnow

QUEUED, PROCESSING, SUCCEEDED, FAILED, CANCELED = "queued", "processing", "succeeded", "failed", "canceled"
FINAL = (SUCCEEDED, FAILED, CANCELED)
STATUSES = (QUEUED, PROCESSING, *FINAL)


def finish_task(conn: Connection, *, task_id: str, account_id: int, reserved: int, status: str,
                where: tuple[ColumnElement[bool], ...], **values: Any) -> bool:
    """Move the task to ``status`` (one of FINAL) if it still matches ``where``, and settle its ``reserved``
    credits: charged when it succeeded, refunded otherwise. False, and nothing changed, when another finish won.
    """
    if status not in FINAL:
        raise ValueError(f"{status!r} is not a final state")
    values.setdefault("finished_at", utcnow())
    if status == SUCCEEDED:
        values["credits_charged"] = tasks.c.credits_reserved
    res = conn.execute(update(tasks).where(tasks.c.id == task_id, *where).values(status=status, **values))
    if res.rowcount != 1:
        return False
    credits.settle(conn, account_id=account_id, task_id=task_id, amount=reserved, charged=status == SUCCEEDED)
    return True
