"""Credits under concurrent submissions: exactly as many tasks as credits, and never a negative balance."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bgremover.service.credits import ledger_sum
from web.conftest import FAST
from web.service_process import poll_task

pytestmark = pytest.mark.slow


def test_thirty_concurrent_submissions_against_ten_credits(service, images):
    acc = service.new_account(10)
    body = {"image": images.url("photo.jpg"), "model": FAST}
    seen_balances: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with service.client(acc) as c:
            while not done.is_set():
                seen_balances.append(c.get("/billing/credits").json()["credits"])

    def submit(_: int) -> httpx.Response:
        with service.client(acc) as c:
            return c.post("/api/v1/images/tools/remove-bg", json=body)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(submit, range(30)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] * 10 + [402] * 20, codes
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 402} == {"insufficient_credits"}
    with service.client(acc) as c:
        finals = [poll_task(c, r.json()["task_id"]) for r in answers if r.status_code == 202]
        done.set()
        watcher.join()
        assert all(t["status"] == "succeeded" for t in finals)
        bal = c.get("/billing/credits").json()
    assert (bal["credits"], bal["reserved"]) == (0, 0)
    assert min(seen_balances) >= 0 and seen_balances
    assert ledger_sum(service.db, account_id=acc.id) == 0
