"""``bgremover worker --concurrency 2`` on Redis: SIGTERM lets the work in hand finish and takes no new task.

The work in hand here is two fetches (slow URLs, in the fetch stage's threads): each finishes and hands its
task to the model queue with its image stored, nothing is charged, and the next worker finishes them.
"""
from __future__ import annotations

import signal
import time

import pytest
from web.service_process import poll_task

from bgremover.store.tables import ledger_entries
from scaleout.cluster import FAST

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]
ENDPOINT = "/api/v1/images/tools/remove-bg"


def test_sigterm_finishes_the_fetches_in_hand_and_takes_no_new_task(make_cluster, images):
    fleet = make_cluster(BGREMOVER_TASK_LEASE_S="10", BGREMOVER_RATE_LIMIT_PER_MINUTE="100000")  # polling
    api = fleet.add_api()
    worker = fleet.add_worker(concurrency=2)
    acc = api.new_account(5)
    slow = {"image": images.url("photo.jpg", slow=3), "model": FAST}
    with api.client(acc) as c:
        in_hand = [c.post(ENDPOINT, json=slow).json()["task_id"] for _ in range(2)]
        for tid in in_hand:
            poll_task(c, tid, until=("processing",), timeout=60)
        assert all(poll_task(c, t, until=("processing",))["status"] == "processing" for t in in_hand)
        worker.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        time.sleep(0.5)
        later = c.post(ENDPOINT, json={**slow, "image": images.url("photo.jpg")}).json()["task_id"]
        assert worker.proc.wait(90) == 0  # type: ignore[union-attr]
        assert [c.get(f"/api/v1/tasks/{t}").json()["status"] for t in in_hand] == ["queued"] * 2, \
            "each fetch in hand finished and handed its task over"
        assert c.get(f"/api/v1/tasks/{later}").json()["status"] == "queued", "no new task after SIGTERM"
        assert "bgremover_queue_messages 3.0" in c.get("/metrics").text, "their messages still wait in Redis"
        assert c.get("/billing/credits").json()["reserved"] == 3
        fleet.add_worker()
        for tid in [*in_hand, later]:
            assert poll_task(c, tid, timeout=90)["status"] == "succeeded"
        assert images.requests.count("/img/photo.jpg") == 3, "a handed-over image is not fetched again"
    with fleet.db.read() as conn:
        reasons = conn.execute(ledger_entries.select().where(ledger_entries.c.account_id == acc.id)).all()
    assert sorted(r.reason for r in reasons if r.task_id) == ["charge"] * 3 + ["reserve"] * 3
