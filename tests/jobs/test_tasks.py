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
from store.disk_full import partials_on_dev_full
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


def test_a_full_result_disk_fails_the_task_with_storage_full_and_charges_nothing(jobs, monkeypatch, caplog):
    """Through the API: an upload is accepted, then the worker's result write hits a real ENOSPC (/dev/full).
    The task fails with ``storage_full`` and a message that names no server path, GET shows it, the credits are
    as before, and the results directory holds nothing: no partial file, no result, no leftover upload."""
    from fastapi.testclient import TestClient

    from bgremover.service.keys import create_key
    from bgremover.web.app import create_app

    ctx = jobs.context()
    app = create_app(ctx.settings, queue=jobs.queue)
    acc = make_account(ctx.db, 2)
    _, key = create_key(ctx.db, app.state.bg.secret, account_id=acc)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as c:
        r = c.post("/api/v1/images/tools/remove-bg", data={"model": "bg-remover-fast"},
                   files={"image_file": ("photo.jpg", photo_bytes((72, 48)), "image/jpeg")})
        assert r.status_code == 202, r.text
        task_id = r.json()["task_id"]
        handed = partials_on_dev_full(monkeypatch, ctx.blobs)  # the upload is stored; the result will not be
        run_task(ctx, task_id)
        task = c.get(f"/api/v1/tasks/{task_id}").json()
        balance = c.get("/billing/credits").json()
    assert handed, "the result write did not go to /dev/full (the test proves nothing)"
    assert task["status"] == "failed" and task["credits_charged"] == 0, task
    assert task["error"]["code"] == "storage_full"
    assert "no space" in task["error"]["message"] and "/" not in task["error"]["message"]
    assert (balance["credits"], balance["reserved"]) == (2, 0)
    assert list((ctx.settings.data_dir / "results").iterdir()) == []
    assert "No space left on device" in caplog.text, "the operator is told what happened"
    run_task(ctx, task_id)  # a duplicate message does nothing: the task is final
    assert credits.balance(ctx.db, account_id=acc).credits == 2
