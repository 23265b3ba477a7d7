"""Rate limits and back-pressure, on an API-only server with tiny limits (no workers: tasks stay queued)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from web.conftest import FAST
from web.service_process import ServiceProcess, embedded_env

ENDPOINT = "/api/v1/images/tools/remove-bg"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("limited")
    env = embedded_env(root / "data", BGREMOVER_RATE_LIMIT_PER_MINUTE="10", BGREMOVER_MAX_TASKS_IN_FLIGHT="2",
                       BGREMOVER_READ_RATE_LIMIT_PER_MINUTE="30",
                       BGREMOVER_MAX_QUEUE_DEPTH="3", BGREMOVER_DEFAULT_MODEL=FAST)
    svc = ServiceProcess(mode="embedded", env=env, data_dir=root / "data", log_path=root / "serve.log",
                         args=["--api-only"]).start()
    yield svc
    svc.stop()


def test_submissions_per_minute_per_key_and_the_429_says_which_limit(limited, fresh_rate_window):
    acc = limited.new_account(1)
    with limited.client(acc) as c:
        for _ in range(10):
            assert c.post(ENDPOINT, json={}).status_code == 400  # refused as invalid, but a submission all the same
        r = c.post(ENDPOINT, json={})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        message = r.json()["error"]["message"]
        assert "10 submissions per minute" in message and "BGREMOVER_RATE_LIMIT_PER_MINUTE" in message
        assert r.headers["x-ratelimit-scope"] == "submissions"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["x-ratelimit-remaining"] == "0"
        polled = c.get("/billing/credits")
        assert polled.status_code == 200, "reads have a budget of their own"
        assert polled.headers["x-ratelimit-limit"] == "30"
    other_key = limited.new_account(1)
    with limited.client(other_key) as c:
        assert c.post(ENDPOINT, json={}).status_code == 400, "limits are per key"


def test_polling_does_not_spend_the_submission_budget(limited, fresh_rate_window):
    acc = limited.new_account(1)
    with limited.client(acc) as c:
        for i in range(30):
            r = c.get("/billing/credits")
            assert r.status_code == 200, (i, r.text)
            assert r.headers["x-ratelimit-remaining"] == str(29 - i)
        r = c.get("/api/v1/tasks")
        assert r.status_code == 429 and r.headers["x-ratelimit-scope"] == "reads"
        assert "30 reads per minute" in r.json()["error"]["message"]
        assert "BGREMOVER_READ_RATE_LIMIT_PER_MINUTE" in r.json()["error"]["message"]
        assert c.post(ENDPOINT, json={}).status_code == 400, "submissions are still open"


def test_a_balance_that_cannot_pay_is_402_even_with_every_slot_in_flight(limited):
    acc = limited.new_account(2)
    body = {"image": "http://127.0.0.1:9/x.jpg"}
    with limited.client(acc) as c:
        assert [c.post(ENDPOINT, json=body).status_code for _ in range(2)] == [202, 202]
        r = c.post(ENDPOINT, json=body)
        assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits", r.text
        for task in c.get("/api/v1/tasks").json()["tasks"]:
            c.delete(f"/api/v1/tasks/{task['task_id']}")


def test_tasks_in_flight_then_queue_depth(limited):
    a, b = limited.new_account(10), limited.new_account(10)
    body = {"image": "http://127.0.0.1:9/x.jpg"}
    with limited.client(a) as ca, limited.client(b) as cb:
        assert [ca.post(ENDPOINT, json=body).status_code for _ in range(2)] == [202, 202]
        r = ca.post(ENDPOINT, json=body)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert r.headers["x-ratelimit-scope"] == "tasks" and "retry-after" in r.headers
        assert ca.get("/billing/credits").json()["credits"] == 8, "a refused task reserves nothing"
        assert cb.post(ENDPOINT, json=body).status_code == 202  # queue depth now 3
        r = cb.post(ENDPOINT, json=body)
        assert r.status_code == 503 and r.json()["error"]["code"] == "queue_full"
        assert int(r.headers["retry-after"]) > 0
        assert cb.get("/billing/credits").json()["credits"] == 9
        # cancel frees both the in-flight slot and the queue
        tid = ca.get("/api/v1/tasks").json()["tasks"][0]["task_id"]
        assert ca.delete(f"/api/v1/tasks/{tid}").status_code == 200
        assert ca.post(ENDPOINT, json=body).status_code == 202
