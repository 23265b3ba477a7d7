"""Back-pressure: with the queue at its limit, a burst of submissions is answered at once — 503 ``queue_full``
with ``Retry-After`` — not queued without bound, and nothing is charged for a refused one.

The server runs no worker, so the queue only grows; a real burst (concurrent clients) hits it.
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hardening.conftest import FAST, start_service

DEPTH = 5
BURST = 40
TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def saturated(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("backpressure"), workers=0,
                        BGREMOVER_MAX_QUEUE_DEPTH=str(DEPTH))
    yield svc
    svc.stop()


def test_a_burst_over_the_queue_limit_is_refused_quickly_with_retry_after(saturated) -> None:
    accounts = [saturated.new_account(100) for _ in range(4)]
    body = {"image": "http://127.0.0.1:9/x.jpg", "model": FAST}

    def submit(i: int) -> tuple[int, dict, float, dict]:
        acc = accounts[i % len(accounts)]
        t = time.monotonic()
        with httpx.Client(base_url=saturated.base_url, headers=acc.headers, timeout=TIMEOUT_S) as c:
            r = c.post("/api/v1/images/tools/remove-bg", json=body)
        return r.status_code, dict(r.headers), time.monotonic() - t, r.json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(submit, range(BURST)))
    codes = Counter(s for s, *_ in answers)
    assert set(codes) <= {202, 503}, codes
    assert codes[202] == DEPTH, f"the queue took {codes[202]} tasks with a limit of {DEPTH}"
    for status, headers, _elapsed, body_ in answers:  # every one answered: a hang raises httpx's ReadTimeout
        if status == 503:
            assert body_["error"]["code"] == "queue_full" and int(headers["retry-after"]) > 0
    slowest = max(e for *_, e, _ in answers)
    print(f"{BURST} concurrent submissions: {dict(codes)}; slowest answer {slowest:.2f}s")
    with httpx.Client(base_url=saturated.base_url, timeout=TIMEOUT_S) as c:  # refused ones reserved nothing
        spent = sum(100 - c.get("/billing/credits", headers=a.headers).json()["credits"] for a in accounts)
    assert spent == DEPTH
