"""The job function against a real database, result store, Huey queue (SQLite) and the real u2netp model."""
from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image

from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import register_jobs, run_task
from bgremover.service import credits
from bgremover.service.tasks import TaskRequest, get_task, submit_task
from bgremover.store.migrate import upgrade
from service.helpers import make_account
from web.images import photo_bytes


@pytest.fixture
def jobs(tmp_path, remover):
    from bgremover.config import load_settings

    settings = load_settings(data_dir=tmp_path / "data", onnx_threads=1)
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    jobs = register_jobs(make_huey(settings), settings)
    ctx = jobs.context()
    ctx._remover = remover  # the session's u2netp Remover: loaded once for all tests
    yield jobs
    ctx.db.dispose()


def _submit(jobs, data: bytes, fmt: str = "png"):
    ctx = jobs.context()
    acc = make_account(ctx.db, 2)
    task, _ = submit_task(ctx.db, ctx.blobs, jobs.queue, ctx.settings, account_id=acc, credits_cost=1,
                          request=TaskRequest(model="bg-remover-fast", output_format=fmt, input_data=data))
    return acc, task


def test_process_task_stores_the_cutout_then_charges(jobs):
    ctx = jobs.context()
    acc, task = _submit(jobs, photo_bytes((72, 48)), "webp")
    assert jobs.queue.pending() == 1, "submission put the task id on the Huey queue"
    run_task(ctx, task.id)
    done = get_task(ctx.db, task.id)
    assert done.status == "succeeded" and done.credits_charged == 1
    im = Image.open(io.BytesIO(ctx.blobs.get(done.result_key)))
    assert im.format == "WEBP" and im.size == (72, 48) and im.mode == "RGBA"
    assert ctx.blobs.get(task.input_key) is None, "the upload is deleted once the task is final"
    assert credits.balance(ctx.db, account_id=acc).credits == 1
    run_task(ctx, task.id)  # a duplicate message does nothing
    assert credits.balance(ctx.db, account_id=acc).credits == 1


def test_bad_input_fails_with_its_code_and_refunds(jobs):
    ctx = jobs.context()
    acc, task = _submit(jobs, photo_bytes((72, 48))[:300])
    run_task(ctx, task.id)
    failed = get_task(ctx.db, task.id)
    assert (failed.status, failed.error_code) == ("failed", "corrupt_image")
    assert credits.balance(ctx.db, account_id=acc).credits == 2


def test_huey_consumer_runs_the_registered_function(jobs):
    """What the queue carries is the task id for ``process_task``; executing it processes the task."""
    ctx = jobs.context()
    _, task = _submit(jobs, photo_bytes((40, 40)))
    message = jobs.huey.dequeue()
    assert message.args == (task.id,)
    jobs.huey.execute(message)
    assert get_task(ctx.db, task.id).status == "succeeded"


def test_maintenance_sweeps_partial_result_files_left_by_killed_writers(tmp_path):
    """The worker's periodic maintenance (no model needed) removes a stale ``.tmp-*`` file from the local store."""
    from bgremover.config import load_settings

    settings = load_settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    jobs = register_jobs(make_huey(settings), settings)
    ctx = jobs.context()
    try:
        ctx.blobs.put("kept.png", b"a whole result")
        stale = settings.data_dir / "results" / ".tmp-killed-writer"
        stale.write_bytes(b"half")
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
        jobs.maintenance()
        assert not stale.exists()
        assert ctx.blobs.get("kept.png") == b"a whole result"
    finally:
        ctx.db.dispose()
