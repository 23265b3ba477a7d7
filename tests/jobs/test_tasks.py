"""The job function (Huey glue around ``service/processing.run_task``) against a real database, result store,
Huey queue (SQLite) and the real u2netp model."""
from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from bgremover.config import Settings, load_settings
from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import Jobs, register_jobs
from bgremover.service import credits, lifecycle
from bgremover.service.cutouts import LocalPipeline
from bgremover.service.processing import run_task
from bgremover.service.tasks import TaskRequest, get_task, submit_task
from bgremover.store.migrate import upgrade
from bgremover.store.results import DatabaseResultStore
from bgremover.store.tables import result_blobs
from service.helpers import make_account
from store.disk_full import fill, fill_database, partials_on_dev_full, tiny_tmpfs
from store.postgres_cluster import postgres_on_tiny_tmpfs
from web.images import photo_bytes


def _jobs_for(settings: Settings, remover) -> Jobs:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    jobs = register_jobs(make_huey(settings), settings)
    jobs.context().producer = LocalPipeline(settings, remover)  # the session's Remover: loaded once for all tests
    return jobs


@pytest.fixture
def jobs(tmp_path, remover):
    jobs = _jobs_for(load_settings(data_dir=tmp_path / "data", onnx_threads=1), remover)
    yield jobs
    jobs.context().db.dispose()


def _submit(jobs, data: bytes, fmt: str = "png", model: str = "bg-remover-fast"):
    ctx = jobs.context()
    acc = make_account(ctx.db, 2)
    task, _ = submit_task(ctx.db, ctx.blobs, jobs.queue, ctx.settings, account_id=acc, credits_cost=1,
                          request=TaskRequest(model=model, output_format=fmt, input_data=data))
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


def noisy_jpeg(size: tuple[int, int] = (600, 400)) -> bytes:
    """Small as a JPEG (27 KB), big as a cut-out (about 430 KB of PNG): noise compresses worst."""
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=10)
    return buf.getvalue()


def _blob_keys(ctx) -> list[str]:
    with ctx.db.read() as conn:
        return list(conn.execute(select(result_blobs.c.key)).scalars())


@pytest.fixture
def jobs_on_a_small_disk(tmp_path, remover):
    """Embedded, with BGREMOVER_RESULT_STORE=database: the data dir, and in it the SQLite database that holds the
    uploads and the results (and the queue), is a 1 MiB tmpfs. Short leases, for the test that needs one to end."""
    with tiny_tmpfs(tmp_path / "data", "1m") as data:
        settings = load_settings(data_dir=data, onnx_threads=1, result_store="database", task_lease_s=1)
        jobs = _jobs_for(settings, remover)
        try:
            yield jobs
        finally:
            jobs.context().db.dispose()


def test_a_full_database_fails_the_task_with_storage_full_and_charges_nothing(jobs_on_a_small_disk, caplog):
    """The result store is the database, and its disk has 512 KiB left: room for small writes, not for the cut-out.
    SQLite answers "database or disk is full"; the task fails with ``storage_full`` (not ``internal_error``),
    recorded and refunded in a fresh transaction; the database holds no result and no leftover upload."""
    jobs = jobs_on_a_small_disk
    ctx = jobs.context()
    assert isinstance(ctx.blobs, DatabaseResultStore)
    # fp32 U²-Net-p keeps most of the noise: a cut-out of about 1.7 MB (the int8 copy's is 0.4 MB, which would fit)
    acc, task = _submit(jobs, noisy_jpeg((1200, 800)), model="bg-remover-fast-fp32")
    fill(ctx.settings.data_dir, leave=512 * 1024)  # room for recording the failure, not for the cut-out
    run_task(ctx, task.id)
    failed = get_task(ctx.db, task.id)
    assert (failed.status, failed.error_code, failed.credits_charged) == ("failed", "storage_full", 0)
    assert "no space" in (failed.error_message or "") and "/" not in (failed.error_message or "")
    bal = credits.balance(ctx.db, account_id=acc)
    assert (bal.credits, bal.reserved) == (2, 0)
    assert _blob_keys(ctx) == []
    assert "database or disk is full" in caplog.text, "the operator is told what happened"
    run_task(ctx, task.id)  # a duplicate message does nothing: the task is final
    assert credits.balance(ctx.db, account_id=acc).credits == 2


def test_a_database_too_full_to_record_the_failure_charges_nothing_and_recovers(jobs_on_a_small_disk):
    """With 8 KiB left, SQLite cannot even record the failure (the refund is a write too): run_task raises
    StorageFull (the database's error chained), so the queue retries the message. What holds: the task is not
    charged and did not succeed; it stays ``processing`` with its credits reserved until its lease runs out; once
    space is freed the reaper re-queues it, it succeeds, and it is charged exactly once."""
    from bgremover.errors import StorageFull
    from bgremover.store.space import is_database_full

    jobs = jobs_on_a_small_disk
    ctx = jobs.context()
    acc, task = _submit(jobs, noisy_jpeg())
    filler = fill(ctx.settings.data_dir, leave=8 * 1024)
    with pytest.raises(StorageFull) as raised:
        run_task(ctx, task.id)
    assert raised.value.__cause__ is not None and is_database_full(raised.value.__cause__)
    stuck = get_task(ctx.db, task.id)
    assert (stuck.status, stuck.credits_charged) == ("processing", 0)
    held = credits.balance(ctx.db, account_id=acc)
    assert (held.credits, held.reserved) == (1, 1)
    filler.unlink()  # the operator frees space
    time.sleep(ctx.settings.task_lease_s + 0.2)
    assert lifecycle.reap_expired_leases(ctx.db, ctx.settings, ctx.queue)["requeued"] == 1
    run_task(ctx, task.id)
    done = get_task(ctx.db, task.id)
    assert (done.status, done.attempts, done.credits_charged) == ("succeeded", 2, 1)
    bal = credits.balance(ctx.db, account_id=acc)
    assert (bal.credits, bal.reserved) == (1, 0)
    assert _blob_keys(ctx) == [done.result_key]


@pytest.mark.slow
def test_a_full_postgres_database_fails_the_task_with_storage_full_and_charges_nothing(tmp_path, remover, caplog):
    """Scale-out: PostgreSQL (a throw-away cluster whose data directory is a 32 MiB tmpfs) holds the upload, then
    blobs until no table can grow. The result write fails with SQLSTATE 53100 and aborts its transaction; the
    failure is recorded in a fresh one: ``storage_full``, refunded, no result stored, the upload deleted."""
    with postgres_on_tiny_tmpfs() as pg:
        jobs = _jobs_for(load_settings(data_dir=tmp_path / "data", onnx_threads=1, database_url=pg.url), remover)
        ctx = jobs.context()
        try:
            assert isinstance(ctx.blobs, DatabaseResultStore), "the database store is the default with PostgreSQL"
            acc, task = _submit(jobs, noisy_jpeg())
            fillers, _ = fill_database(ctx.blobs, (1 << 20, 1 << 14, 1 << 12))
            run_task(ctx, task.id)
            failed = get_task(ctx.db, task.id)
            assert (failed.status, failed.error_code, failed.credits_charged) == ("failed", "storage_full", 0)
            bal = credits.balance(ctx.db, account_id=acc)
            assert (bal.credits, bal.reserved) == (2, 0)
            assert sorted(_blob_keys(ctx)) == sorted(fillers), "a result or the upload was left"
            assert "could not extend file" in caplog.text, "the operator is told what happened"
        finally:
            ctx.db.dispose()


def test_a_task_that_succeeds_on_a_disk_too_full_to_delete_its_upload_stays_succeeded_and_billed(
        jobs_on_a_small_disk, caplog):
    """The int8 copy's cut-out of the noisy photo (about 0.4 MB) fits in the 512 KiB left, and then there is no room
    even to delete the upload. The outcome is already recorded: the task stays succeeded and charged once, its
    result is served, run_task returns (no retry of a finished task), and the operator reads what was left."""
    jobs = jobs_on_a_small_disk
    ctx = jobs.context()
    acc, task = _submit(jobs, noisy_jpeg((1200, 800)))
    fill(ctx.settings.data_dir, leave=512 * 1024)
    run_task(ctx, task.id)
    done = get_task(ctx.db, task.id)
    assert (done.status, done.credits_charged) == ("succeeded", 1), done.error_message
    assert ctx.blobs.get(done.result_key)[:8] == b"\x89PNG\r\n\x1a\n"
    assert credits.balance(ctx.db, account_id=acc).credits == 1
    assert f"its upload {task.input_key} was left in the store" in caplog.text  # the premise: the delete failed
