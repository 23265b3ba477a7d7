"""Signed result URLs and result expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bgremover.service import lifecycle, results
from bgremover.service.errors import ResultExpired, ResultNotReady, TaskNotFound
from bgremover.service.lifecycle import ResultInfo
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import tasks, utcnow
from service.helpers import make_account, settings_for, submit

SECRET = b"s3cret"


def test_signature_binds_task_and_expiry():
    sig = results.result_signature(SECRET, "t1", 1000)
    assert results.verify_result_signature(SECRET, "t1", 1000, sig)
    assert not results.verify_result_signature(SECRET, "t2", 1000, sig)
    assert not results.verify_result_signature(SECRET, "t1", 1001, sig)
    assert not results.verify_result_signature(b"other", "t1", 1000, sig)


def test_read_and_expire(db, tmp_path):
    settings, blobs = settings_for(tmp_path), LocalResultStore(tmp_path / "blobs")
    acc, other = make_account(db, 2), make_account(db, 2)
    task, _ = submit(db, tmp_path, acc)
    with pytest.raises(ResultNotReady):
        results.read_result(db, blobs, task.id, account_id=acc)
    claim = lifecycle.claim_task(db, settings, task.id)
    blobs.put("out.png", b"PNG")
    lifecycle.complete_task(db, settings, claim, ResultInfo("out.png", "image/png", 1, 1, 3), 0.1)
    assert results.read_result(db, blobs, task.id, account_id=acc)[1] == b"PNG"
    assert results.read_result(db, blobs, task.id, account_id=None)[1] == b"PNG"  # signed URL
    with pytest.raises(TaskNotFound):
        results.read_result(db, blobs, task.id, account_id=other)
    assert results.expire_results(db, blobs) == 0, "not yet due"
    with db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.id == task.id)
                     .values(result_expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(ResultExpired):
        results.read_result(db, blobs, task.id, account_id=acc)
    assert results.expire_results(db, blobs) == 1
    assert blobs.get("out.png") is None
    with pytest.raises(ResultExpired):
        results.read_result(db, blobs, task.id, account_id=acc)
