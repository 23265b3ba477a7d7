"""The fetch stage on real Huey queues (SQLite), real loopback upstreams and the real u2netp model.

A URL task goes to the fetch queue, never to the model's; the fetched bytes come back as the task's input
blob and the task goes to the model queue. With consumers running, one account's drip-feeding upstreams do
not hold another account's task: it succeeds while every drip is still sending (ordered by events, not by
the clock).
"""
from __future__ import annotations

import time

import pytest
from fetching.local_http import LocalServer, drip_feed
from service.helpers import make_account
from web.images import ImageServer, photo_bytes

from bgremover.config import load_settings
from bgremover.jobs.fetch_stage import ThreadConsumer
from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import register_jobs
from bgremover.service import credits
from bgremover.service.tasks import TaskRequest, get_task, submit_task
from bgremover.store.migrate import upgrade


def _jobs(tmp_path, remover, **overrides):
    settings = load_settings(data_dir=tmp_path / "data", onnx_threads=1, fetch_allow_networks="127.0.0.1/32",
                             **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    jobs = register_jobs(make_huey(settings), settings)
    jobs.context()._remover = remover
    return jobs


@pytest.fixture
def jobs(tmp_path, remover):
    jobs = _jobs(tmp_path, remover)
    yield jobs
    jobs.context().db.dispose()


@pytest.fixture
def images():
    with ImageServer() as server:
        server.files["p.jpg"] = photo_bytes((64, 48))
        yield server


def _submit(jobs, account_id: int, url: str) -> str:
    ctx = jobs.context()
    task, _ = submit_task(ctx.db, ctx.blobs, jobs.queue, ctx.settings, account_id=account_id, credits_cost=1,
                          request=TaskRequest(model="bg-remover-fast", source_url=url))
    return task.id


def _run_one(huey) -> None:
    message = huey.dequeue()
    assert message is not None
    huey.execute(message)


def test_a_url_task_is_fetched_by_the_fetch_stage_then_inferred_by_the_model(jobs, images):
    ctx = jobs.context()
    acc = make_account(ctx.db, 2)
    tid = _submit(jobs, acc, images.url("p.jpg"))
    assert (jobs.huey.pending_count(), jobs.fetch.huey.pending_count()) == (0, 1), "the model queue never sees it"
    assert jobs.queue.pending() == 1
    _run_one(jobs.fetch.huey)
    handed = get_task(ctx.db, tid)
    assert handed.status == "queued" and ctx.blobs.get(handed.input_key) == images.files["p.jpg"]
    assert (jobs.huey.pending_count(), jobs.fetch.huey.pending_count()) == (1, 0)
    _run_one(jobs.huey)
    done = get_task(ctx.db, tid)
    assert (done.status, done.credits_charged, done.attempts) == ("succeeded", 1, 1)
    assert ctx.blobs.get(handed.input_key) is None, "the fetched input is deleted once the task is final"
    assert credits.balance(ctx.db, account_id=acc).credits == 1


def test_a_url_message_that_reaches_the_model_queue_is_passed_to_the_fetch_stage(jobs, images):
    """A message from before the fetch stage existed (or sent by hand) does not make the model fetch."""
    ctx = jobs.context()
    tid = _submit(jobs, make_account(ctx.db, 2), images.url("p.jpg"))
    jobs.fetch.huey.flush()
    jobs.process_task(tid)
    _run_one(jobs.huey)
    assert get_task(ctx.db, tid).status == "queued" and images.requests == []
    assert jobs.fetch.huey.pending_count() == 1


def test_a_failed_fetch_fails_the_task_with_its_code_and_refunds(jobs, images):
    ctx = jobs.context()
    acc = make_account(ctx.db, 2)
    tid = _submit(jobs, acc, images.url("missing.jpg"))
    _run_one(jobs.fetch.huey)
    failed = get_task(ctx.db, tid)
    assert (failed.status, failed.error_code) == ("failed", "image_fetch_failed")
    assert jobs.huey.pending_count() == 0
    assert credits.balance(ctx.db, account_id=acc).credits == 2


def test_one_accounts_drip_feeds_do_not_hold_another_accounts_task(tmp_path, remover, images):
    """A submits four URLs whose servers send a JPEG header and then a byte every 50 ms (within the rate floor's
    reach only if it were on: here it is off, the worst case of a drip just above the floor). B's task is
    fetched, inferred and succeeds while A's servers are all still sending; A's fetches then end at the
    deadline as image_fetch_failed, refunded."""
    jobs = _jobs(tmp_path, remover, fetch_threads=4, fetch_per_account=2, fetch_min_bytes_per_s=0,
                 fetch_timeout_s=12, fetch_read_timeout_s=5)
    ctx = jobs.context()
    a, b = make_account(ctx.db, 10), make_account(ctx.db, 10)
    drips = LocalServer()
    fetchers = jobs.fetch.consumer(4)
    model = ThreadConsumer(jobs.huey, workers=1, worker_type="thread", periodic=False, initial_delay=0.05,
                           backoff=1.2, max_delay=0.2)
    try:
        for i in range(4):  # 16 header bytes, then 400 more at one per 50 ms: 20 s, beyond the 12 s deadline
            drips.routes[f"/a{i}.jpg"] = drip_feed(drips, f"a{i}", b"\xff\xd8\xff\xe0" + b"\0" * 12,
                                                   body_bytes=400, pause_s=0.05)
        a_tasks = [_submit(jobs, a, drips.url(f"/a{i}.jpg")) for i in range(4)]
        b_task = _submit(jobs, b, images.url("p.jpg"))
        fetchers.start()
        model.start()
        deadline = time.monotonic() + 60
        while get_task(ctx.db, b_task).status not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
        drips_done = {name: ev.is_set() for name, ev in drips.streams.items()}
        a_states = [get_task(ctx.db, t).status for t in a_tasks]
        assert get_task(ctx.db, b_task).status == "succeeded"
        assert len(drips_done) == 2 and not any(drips_done.values()), \
            "B finished while A's two fetches (its share) were still being drip-fed"
        assert sorted(a_states) == ["processing", "processing", "queued", "queued"], "A's other two wait their turn"
        while any(get_task(ctx.db, t).status != "failed" for t in a_tasks) and time.monotonic() < deadline + 60:
            time.sleep(0.2)
        assert {get_task(ctx.db, t).error_code for t in a_tasks} == {"image_fetch_failed"}
        assert not any(ev.is_set() for ev in drips.streams.values()), "no drip ever completed"
        assert credits.balance(ctx.db, account_id=a).credits == 10, "A's failed fetches are refunded"
        assert credits.balance(ctx.db, account_id=b).credits == 9
    finally:
        fetchers.stop(graceful=True)
        model.stop(graceful=True)
        drips.close()
        ctx.db.dispose()
