"""Two API processes and two worker processes on PostgreSQL and Redis: credits hold across all of them."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from bgremover.service.credits import ledger_sum
from bgremover.store.tables import accounts, ledger_entries, tasks
from scaleout.cluster import FAST
from scaleout.services import ConnectionWatch
from web.service_process import poll_task

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]
ENDPOINT = "/api/v1/images/tools/remove-bg"


def test_forty_submissions_over_two_apis_against_25_credits(make_cluster, images):
    fleet = make_cluster(BGREMOVER_TASK_LEASE_S="5", BGREMOVER_MAX_TASKS_IN_FLIGHT="1000",
                         BGREMOVER_RATE_LIMIT_PER_MINUTE="100000",
                         BGREMOVER_READ_RATE_LIMIT_PER_MINUTE="1000000")
    api1, api2 = fleet.add_api(), fleet.add_api()
    fleet.add_worker(), fleet.add_worker()
    acc = api1.new_account(25)
    body = {"image": images.url("photo.jpg"), "model": FAST}

    def submit(i: int) -> httpx.Response:
        with (api1 if i % 2 else api2).client(acc) as c:
            return c.post(ENDPOINT, json=body)

    with ConnectionWatch(fleet.schema.name) as watch, ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(submit, range(40)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {202: 25, 402: 15}, codes
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 402} == {"insufficient_credits"}
    accepted = [r.json()["task_id"] for r in answers if r.status_code == 202]
    # 20 requests at once held no more connections than four processes' pools allow (1 + 1 each, cluster.py)
    # and this test's own idle one: the fleet's share of PostgreSQL's max_connections is known in advance.
    assert 0 < watch.peak <= 4 * 2 + 1, watch.peak

    with api1.client(acc) as c1, api2.client(acc) as c2:
        finals = [poll_task(c2 if i % 2 else c1, tid, timeout=120) for i, tid in enumerate(accepted)]
        assert [t["status"] for t in finals] == ["succeeded"] * 25, [t.get("error") for t in finals]
        # a result stored by either worker is served by either API: no shared file system involved
        for t in finals[:4]:
            for c in (c1, c2):
                r = c.get(t["result"]["url"])
                assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
        bal = c1.get("/billing/credits").json()
    assert (bal["credits"], bal["reserved"]) == (0, 0)
    assert ledger_sum(fleet.db, account_id=acc.id) == bal["credits"] == 0

    with fleet.db.read() as conn:
        rows = conn.execute(select(ledger_entries.c.task_id, ledger_entries.c.reason)
                            .where(ledger_entries.c.task_id.is_not(None))).all()
        charged = conn.execute(select(tasks.c.credits_charged).where(tasks.c.account_id == acc.id)).scalars().all()
        in_flight = conn.execute(select(accounts.c.tasks_in_flight).where(accounts.c.id == acc.id)).scalar_one()
    per_task = Counter((r.task_id, r.reason) for r in rows)
    assert set(per_task.values()) == {1}, "no ledger row twice for a task"
    assert Counter(reason for _, reason in per_task) == {"reserve": 25, "charge": 25}
    assert sorted(charged) == [1] * 25 and in_flight == 0
    worked = [w for w in fleet.workers if "claimed" in w.log_text()]
    assert len(worked) == 2, "both worker processes took tasks"
