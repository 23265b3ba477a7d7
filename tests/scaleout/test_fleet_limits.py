"""Rate limits and idempotency keys hold across API processes: counters in Redis, idempotency in PostgreSQL."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bgremover.store.tables import ledger_entries, tasks
from scaleout.cluster import FAST

pytestmark = pytest.mark.scaleout
ENDPOINT = "/api/v1/images/tools/remove-bg"


@pytest.fixture
def two_apis(make_cluster):
    """Two API-only processes and no worker: submitted tasks stay queued, which is all these tests need."""
    fleet = make_cluster(BGREMOVER_RATE_LIMIT_PER_MINUTE="10", BGREMOVER_READ_RATE_LIMIT_PER_MINUTE="10",
                         BGREMOVER_DEFAULT_MODEL=FAST)
    fleet.add_api(), fleet.add_api()
    return fleet


def test_requests_per_minute_are_counted_over_both_apis(two_apis, redis_ns, fresh_rate_window):
    api1, api2 = two_apis.apis
    acc = api1.new_account(1)
    with api1.client(acc) as c1, api2.client(acc) as c2:
        remaining = []
        for i in range(10):
            r = (c1 if i % 2 else c2).get("/billing/credits")
            assert r.status_code == 200, r.text
            remaining.append(int(r.headers["x-ratelimit-remaining"]))
        assert remaining == list(range(9, -1, -1)), "one count shared by both processes"
        for c in (c1, c2):
            r = c.get("/billing/credits")
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
    other = api2.new_account(1)
    with api1.client(other) as c:
        assert c.get("/billing/credits").status_code == 200, "limits are per key"
    assert any(k.startswith(f"{redis_ns.prefix}:rate:".encode()) for k in redis_ns.keys()), \
        "the counters live in Redis under this deployment's prefix"


def test_an_idempotency_key_gives_one_task_whichever_api_answers(two_apis, images):
    api1, api2 = two_apis.apis
    acc = api1.new_account(5)
    body = {"image": images.url("photo.jpg"), "model": FAST}
    headers = {"Idempotency-Key": "order-4711"}

    def submit(i: int):
        with (api1 if i % 2 else api2).client(acc) as c:
            return c.post(ENDPOINT, json=body, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(8)))
    assert {r.status_code for r in answers} <= {200, 202}, [r.text for r in answers]
    assert len({r.json()["task_id"] for r in answers}) == 1
    with api2.client(acc) as c:
        changed = c.post(ENDPOINT, json={**body, "output_format": "webp"}, headers=headers)
        assert changed.status_code == 409, changed.text
        assert c.get("/billing/credits").json()["credits"] == 4, "reserved once"
    with two_apis.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(tasks)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(ledger_entries)
                            .where(ledger_entries.c.reason == "reserve")).scalar_one() == 1
