"""The task state machine: each transition happens once, and money follows the final state exactly once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bgremover.service import credits, lifecycle
from bgremover.service.errors import IdempotencyConflict, TaskNotCancelable, TaskNotFound
from bgremover.service.lifecycle import ResultInfo
from bgremover.service.tasks import TaskRequest, cancel_task, get_task, list_tasks, submit_task
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import ledger_entries, tasks, utcnow
from service.helpers import RecordingQueue, make_account, settings_for, submit

RESULT = ResultInfo("r.png", "image/png", 4, 3, 10)


def _reasons(db, task_id):
    with db.read() as conn:
        return sorted(conn.execute(select(ledger_entries.c.reason).where(ledger_entries.c.task_id == task_id))
                      .scalars())


def _expire_lease(db, task_id):
    with db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.id == task_id)
                     .values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_submit_reserves_and_enqueues(db, tmp_path):
    acc, queue = make_account(db, 3), RecordingQueue()
    task, created = submit(db, tmp_path, acc, queue=queue)
    assert created and task.status == "queued" and queue.ids == [task.id]
    assert credits.balance(db, account_id=acc).reserved == 1


def test_claim_once_complete_once_charge_once(db, tmp_path):
    settings = settings_for(tmp_path)
    acc = make_account(db, 3)
    task, _ = submit(db, tmp_path, acc)
    claim = lifecycle.claim_task(db, settings, task.id)
    assert claim is not None and lifecycle.claim_task(db, settings, task.id) is None
    assert lifecycle.complete_task(db, settings, claim, RESULT, 0.5)
    assert not lifecycle.complete_task(db, settings, claim, RESULT, 0.5)
    assert not lifecycle.fail_task(db, claim, "internal_error", "late")
    done = get_task(db, task.id)
    assert (done.status, done.credits_charged, done.result_width) == ("succeeded", 1, 4)
    assert _reasons(db, task.id) == ["charge", "reserve"]
    bal = credits.balance(db, account_id=acc)
    assert (bal.credits, bal.reserved) == (2, 0)


def test_failure_refunds(db, tmp_path):
    settings = settings_for(tmp_path)
    acc = make_account(db, 3)
    task, _ = submit(db, tmp_path, acc)
    claim = lifecycle.claim_task(db, settings, task.id)
    assert lifecycle.fail_task(db, claim, "corrupt_image", "truncated")
    failed = get_task(db, task.id)
    assert (failed.status, failed.error_code, failed.credits_charged) == ("failed", "corrupt_image", 0)
    assert credits.balance(db, account_id=acc).credits == 3
    assert _reasons(db, task.id) == ["refund", "reserve"]


def test_lost_lease_is_requeued_and_the_stale_worker_cannot_finish(db, tmp_path):
    settings = settings_for(tmp_path, task_max_attempts=3)
    acc, queue = make_account(db, 3), RecordingQueue()
    task, _ = submit(db, tmp_path, acc, queue=queue)
    first = lifecycle.claim_task(db, settings, task.id)
    _expire_lease(db, task.id)
    assert lifecycle.reap_expired_leases(db, settings, queue)["requeued"] == 1
    assert queue.ids == [task.id, task.id] and get_task(db, task.id).status == "queued"
    assert not lifecycle.extend_lease(db, settings, first)
    second = lifecycle.claim_task(db, settings, task.id)
    assert not lifecycle.complete_task(db, settings, first, RESULT, 1.0), "the dead worker's token is void"
    assert lifecycle.complete_task(db, settings, second, RESULT, 1.0)
    assert get_task(db, task.id).attempts == 2
    assert _reasons(db, task.id) == ["charge", "reserve"]


def test_last_attempt_lost_fails_and_refunds(db, tmp_path):
    settings = settings_for(tmp_path, task_max_attempts=2)
    acc, queue = make_account(db, 3), RecordingQueue()
    task, _ = submit(db, tmp_path, acc, queue=queue)
    for _ in range(2):
        assert lifecycle.claim_task(db, settings, task.id) is not None
        _expire_lease(db, task.id)
        lifecycle.reap_expired_leases(db, settings, queue)
    final = get_task(db, task.id)
    assert (final.status, final.error_code) == ("failed", "task_lease_expired")
    assert credits.balance(db, account_id=acc).credits == 3
    assert lifecycle.reap_expired_leases(db, settings, queue) == {"requeued": 0, "failed": 0, "reenqueued": 0}


def test_cancel_only_while_queued_and_only_by_the_owner(db, tmp_path):
    settings = settings_for(tmp_path)
    acc, other = make_account(db, 3), make_account(db, 3)
    blobs = LocalResultStore(tmp_path / "blobs")
    task, _ = submit(db, tmp_path, acc)
    with pytest.raises(TaskNotFound):
        cancel_task(db, blobs, task_id=task.id, account_id=other)
    assert cancel_task(db, blobs, task_id=task.id, account_id=acc).status == "canceled"
    assert lifecycle.claim_task(db, settings, task.id) is None, "a canceled task is never claimed"
    with pytest.raises(TaskNotCancelable):
        cancel_task(db, blobs, task_id=task.id, account_id=acc)
    assert credits.balance(db, account_id=acc).credits == 3


def test_uploaded_input_is_stored_before_the_task_exists(db, tmp_path):
    acc = make_account(db, 1)
    task, _ = submit(db, tmp_path, acc, source_url=None, input_data=b"image-bytes")
    assert LocalResultStore(tmp_path / "blobs").get(task.input_key) == b"image-bytes"


def test_idempotency_key(db, tmp_path):
    acc, settings = make_account(db, 5), settings_for(tmp_path)
    blobs, queue = LocalResultStore(tmp_path / "b"), RecordingQueue()
    req = TaskRequest(model="bg-remover-fast", source_url="http://127.0.0.1:9/a.jpg")
    kw = dict(account_id=acc, credits_cost=1, idempotency_key="k1")
    t1, c1 = submit_task(db, blobs, queue, settings, request=req, **kw)
    t2, c2 = submit_task(db, blobs, queue, settings, request=req, **kw)
    assert (c1, c2) == (True, False) and t1.id == t2.id and queue.ids == [t1.id]
    with pytest.raises(IdempotencyConflict):
        submit_task(db, blobs, queue, settings, request=TaskRequest(model="bg-remover", source_url=req.source_url),
                    **kw)
    assert credits.balance(db, account_id=acc).credits == 4


def test_list_is_per_account_and_paged(db, tmp_path):
    acc, other = make_account(db, 5), make_account(db, 5)
    ids = [submit(db, tmp_path, acc)[0].id for _ in range(3)]
    submit(db, tmp_path, other)
    page, total = list_tasks(db, account_id=acc, limit=2)
    rest, _ = list_tasks(db, account_id=acc, limit=2, offset=2)
    assert total == 3 and sorted(t.id for t in page + rest) == sorted(ids)
