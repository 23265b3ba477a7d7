"""Tasks: polling, listing, canceling, isolation between accounts, result URLs and expiry, crash recovery."""
from __future__ import annotations

import os
import re
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bgremover.store.tables import ledger_entries, result_blobs, tasks, utcnow
from web.conftest import FAST
from web.service_process import poll_task

pytestmark = pytest.mark.slow

ENDPOINT = "/api/v1/images/tools/remove-bg"


def _submit(c, url: str, **extra) -> dict:
    r = c.post(ENDPOINT, json={"image": url, "model": FAST, **extra})
    assert r.status_code in (200, 202), r.text
    return r.json()


def test_task_object_has_the_contract_fields(service, images, account):
    with service.client(account) as c:
        task = _submit(c, images.url("photo.jpg"), wait=60)
        assert set(task) == {"task_id", "status", "model", "output_format", "credits_reserved", "credits_charged",
                             "created_at", "started_at", "finished_at", "result", "error", "provider"}
        assert task["provider"] is None  # no providers file: no provider layer ran (docs/providers.md)
        assert set(task["result"]) == {"url", "content_type", "width", "height", "bytes", "expires_at"}
        assert task["created_at"] <= task["started_at"] <= task["finished_at"]


def test_list_is_paged_newest_first(service, images, account):
    with service.client(account) as c:
        ids = [_submit(c, images.url("photo.jpg"))["task_id"] for _ in range(3)]
        page1 = c.get("/api/v1/tasks", params={"limit": 2}).json()
        assert page1["total"] == 3 and page1["next_offset"] == 2
        page2 = c.get("/api/v1/tasks", params={"limit": 2, "offset": 2}).json()
        assert page2["next_offset"] is None
        listed = [t["task_id"] for t in page1["tasks"] + page2["tasks"]]
        assert sorted(listed) == sorted(ids) and len(set(listed)) == 3
        for tid in ids:
            poll_task(c, tid)


def test_another_account_sees_404_never_403(service, images, account):
    other = service.new_account(5)
    with service.client(account) as mine, service.client(other) as theirs:
        task = _submit(mine, images.url("photo.jpg"), wait=60)
        tid = task["task_id"]
        for r in (theirs.get(f"/api/v1/tasks/{tid}"), theirs.delete(f"/api/v1/tasks/{tid}"),
                  theirs.get(f"/api/v1/tasks/{tid}/result")):
            assert r.status_code == 404 and r.json()["error"]["code"] == "task_not_found"
        assert theirs.get("/api/v1/tasks").json()["total"] == 0
        assert mine.get(f"/api/v1/tasks/{tid}/result").status_code == 200  # the owner's key, no signature
    with service.client() as anyone:
        assert anyone.get(task["result"]["url"]).status_code == 200  # the signed URL alone
        forged = re.sub(r"signature=[0-9a-f]{4}", "signature=0000", task["result"]["url"])
        assert anyone.get(forged).status_code == 404
        later = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", task["result"]["url"])
        assert anyone.get(later).status_code == 404, "the expiry is part of what is signed"
        assert anyone.get(f"/api/v1/tasks/{tid}/result").json()["error"]["code"] == "unauthorized"


def test_cancel_a_queued_task_refunds_it(service, images, account):
    with service.client(account) as c:
        # the account's two fetch slots (fetch_per_account): its next URL task waits, queued
        busy = [_submit(c, images.url("photo.jpg", slow=3))["task_id"] for _ in range(2)]
        poll_task(c, busy[0], until=("processing",))
        poll_task(c, busy[1], until=("processing",))
        queued = _submit(c, images.url("photo.jpg"))["task_id"]
        r = c.delete(f"/api/v1/tasks/{queued}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "canceled" and r.json()["credits_charged"] == 0
        r = c.delete(f"/api/v1/tasks/{busy[0]}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_cancelable"
        for tid in busy:
            assert poll_task(c, tid)["status"] == "succeeded"
        assert poll_task(c, queued)["status"] == "canceled", "a canceled task is never run"
        bal = c.get("/billing/credits").json()
        assert (bal["credits"], bal["reserved"]) == (8, 0)


def test_expired_result_answers_410_and_is_deleted(service, images, account):
    with service.client(account) as c:
        task = _submit(c, images.url("photo.jpg"), wait=60)
        tid = task["task_id"]
        with service.db.write() as conn:
            conn.execute(update(tasks).where(tasks.c.id == tid).values(result_expires_at=utcnow() - timedelta(1)))
        for url in (task["result"]["url"], f"/api/v1/tasks/{tid}/result"):
            r = c.get(url)
            assert r.status_code == 410 and r.json()["error"]["code"] == "result_expired"
        assert c.get(f"/api/v1/tasks/{tid}").json()["result"] is None
        deadline = time.monotonic() + 15  # the workers' periodic expiry deletes the bytes
        while time.monotonic() < deadline:
            with service.db.read() as conn:
                if conn.execute(select(tasks.c.result_key).where(tasks.c.id == tid)).scalar() is None:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the expired result was not deleted")
        assert not list((service.data_dir / "results").glob(f"{tid}*"))  # embedded: files
        with service.db.read() as conn:  # scale-out: rows
            assert conn.execute(select(result_blobs.c.key).where(result_blobs.c.key.like(f"{tid}%"))).first() is None


def test_worker_killed_mid_task_is_finished_once_and_charged_once(service, images, account):
    with service.client(account) as c:
        tid = _submit(c, images.url("photo.jpg", slow=2.5))["task_id"]
        poll_task(c, tid, until=("processing",))
        pattern = rf"\[(\d+)\] bgremover\.service\.(?:processing|fetch_run): task {tid} claimed"  # fetch or model
        deadline = time.monotonic() + 10  # the log line may trail the status change by a moment
        while not (claimed := re.search(pattern, service.log_text())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert claimed, "the worker logs its claim"
        os.kill(int(claimed.group(1)), signal.SIGKILL)
        task = poll_task(c, tid, timeout=90)
        assert task["status"] == "succeeded", task
        assert task["credits_charged"] == 1
        with service.db.read() as conn:
            attempts = conn.execute(select(tasks.c.attempts).where(tasks.c.id == tid)).scalar_one()
            reasons = conn.execute(select(ledger_entries.c.reason).where(ledger_entries.c.task_id == tid)).scalars()
            reasons = sorted(reasons)
        assert attempts == 2
        assert reasons == ["charge", "reserve"]
        assert c.get("/billing/credits").json()["credits"] == 9
        assert c.get(task["result"]["url"]).status_code == 200
    assert len(service.worker_pids()) == 2, "the supervisor restarted the dead worker"
