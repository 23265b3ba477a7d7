"""Crash safety across processes: a worker killed mid-task, and a Redis that restarts and forgets its queue.

What a Redis restart loses, and what comes back:
- lost: the Huey messages waiting in Redis (task ids only; this Redis keeps nothing on disk), and the
  rate-limit counters of the current minute (they restart from zero);
- kept: every task, reservation and ledger row, in PostgreSQL. A task whose message was lost stays
  ``queued`` in the database; the workers' reaper sends it again once it has been queued longer than
  ``task_requeue_after_s``. A task being processed during the restart does not need Redis to finish.
"""
from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from bgremover.service.credits import ledger_sum
from bgremover.store.tables import ledger_entries, tasks
from scaleout.cluster import FAST
from scaleout.services import OwnRedis, RedisNamespace
from web.service_process import poll_task

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]
ENDPOINT = "/api/v1/images/tools/remove-bg"


def _ledger_reasons(db, task_id: str) -> list[str]:
    with db.read() as conn:
        return sorted(conn.execute(select(ledger_entries.c.reason).where(ledger_entries.c.task_id == task_id))
                      .scalars())


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_sigkilled_worker_task_finishes_on_the_other_worker_charged_once(make_cluster, images):
    fleet = make_cluster(BGREMOVER_TASK_LEASE_S="2", BGREMOVER_LOG_JSON="true",
                         BGREMOVER_RATE_LIMIT_PER_MINUTE="100000")  # polling every 0.1 s while a slow machine works
    api = fleet.add_api()
    first, second = fleet.add_worker(), fleet.add_worker()
    acc = api.new_account(3)
    with api.client(acc) as c:
        tid = c.post(ENDPOINT, json={"image": images.url("photo.jpg", slow=3), "model": FAST}).json()["task_id"]
        poll_task(c, tid, until=("processing",))
        _wait(lambda: first.claimed(tid) or second.claimed(tid), 10, "a worker to log its claim")
        holder, other = (first, second) if first.claimed(tid) else (second, first)
        holder.kill()
        task = poll_task(c, tid, timeout=90)
        assert task["status"] == "succeeded", task
        assert task["credits_charged"] == 1
        assert other.claimed(tid), "the surviving worker finished it"
        assert c.get(task["result"]["url"]).status_code == 200
        bal = c.get("/billing/credits").json()
        assert (bal["credits"], bal["reserved"]) == (2, 0)
    with fleet.db.read() as conn:
        attempts = conn.execute(select(tasks.c.attempts).where(tasks.c.id == tid)).scalar_one()
    assert attempts == 2
    assert _ledger_reasons(fleet.db, tid) == ["charge", "reserve"], "charged once although it ran twice"
    assert ledger_sum(fleet.db, account_id=acc.id) == 2
    _assert_json_logs_carry_ids(fleet, tid)


def _assert_json_logs_carry_ids(fleet, tid: str) -> None:
    """Production logs: one JSON object a line; access lines carry the request id, task lines the task id."""
    lines = [json.loads(line) for line in fleet.logs().splitlines() if line.startswith("{")]
    assert lines and all({"ts", "level", "logger", "pid", "message"} <= set(x) for x in lines)
    about_task = [x for x in lines if x.get("task_id") == tid]
    assert {"submitted", "claimed", "expired", "succeeded"} <= {w for x in about_task for w in x["message"].split()}
    submitted = [x for x in about_task if " submitted " in x["message"]]
    assert len(submitted) == 1 and submitted[0]["request_id"], "the API's line ties the request to the task"
    assert all(x.get("request_id") for x in lines if x["logger"] == "bgremover.access")


def test_redis_restart_loses_queued_messages_and_the_reaper_recovers_them(make_cluster, images, tmp_path):
    own = OwnRedis(tmp_path / "redis").start()
    ns = RedisNamespace(own.url)
    try:
        fleet = make_cluster(redis=ns, BGREMOVER_TASK_LEASE_S="3", BGREMOVER_TASK_REQUEUE_AFTER_S="3",
                             BGREMOVER_RATE_LIMIT_PER_MINUTE="100000")  # polling six tasks every 0.1 s
        api = fleet.add_api()
        acc = api.new_account(10)
        body = {"image": images.url("photo.jpg", slow=0.5), "model": FAST}
        with api.client(acc) as c:
            before = [c.post(ENDPOINT, json=body).json()["task_id"] for _ in range(5)]
            worker = fleet.add_worker()  # starts while the five wait in Redis, and takes the first of them
            _wait(lambda: any(worker.claimed(t) for t in before), 60, "the worker to take a task")
            assert _queue_messages(c) >= 1, "messages were waiting in Redis"

            own.restart()  # a crash of Redis: the waiting messages are gone
            # (the two fetches in hand, the account's share, may each hand their task to the model queue meanwhile)
            assert _queue_messages(c) <= 2
            with fleet.db.read() as conn:
                queued = conn.execute(select(func.count()).select_from(tasks)
                                      .where(tasks.c.status == "queued")).scalar_one()
            assert queued >= 1, "the database still knows the tasks whose messages were lost"

            own.stop()  # Redis away: the API still accepts (the reaper enqueues later) and says it is not ready
            during = c.post(ENDPOINT, json=body)
            assert during.status_code == 202, during.text
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["queue"].startswith("error")
            own.start()
            assert c.get("/readyz").status_code == 200

            all_ids = [*before, during.json()["task_id"]]
            finals = [poll_task(c, t, timeout=120) for t in all_ids]
            assert [t["status"] for t in finals] == ["succeeded"] * 6, [t.get("error") for t in finals]
            bal = c.get("/billing/credits").json()
        assert (bal["credits"], bal["reserved"]) == (4, 0), "no credit lost, none charged twice"
        assert ledger_sum(fleet.db, account_id=acc.id) == 4
        with fleet.db.read() as conn:
            rows = conn.execute(select(ledger_entries.c.task_id, ledger_entries.c.reason)
                                .where(ledger_entries.c.account_id == acc.id, ledger_entries.c.task_id.is_not(None)))
            per_task = Counter(rows.all())
        assert set(per_task.values()) == {1} and len(per_task) == 12
        assert "queued too long (its message may be lost); enqueued again" in fleet.logs(), \
            "the reaper sent the lost messages again"
    finally:
        ns.cleanup()
        own.stop()


def _queue_messages(c: httpx.Client) -> float:
    """``bgremover_queue_messages`` from the API's /metrics: the queue's own count, read from Redis."""
    for line in c.get("/metrics").text.splitlines():
        if line.startswith("bgremover_queue_messages "):
            return float(line.split()[1])
    return -1.0

