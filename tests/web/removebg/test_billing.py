"""Credits on the remove.bg route: the native route's rules, through the same task path. A success is charged
once (and says so in X-Credits-Charged), a failure costs nothing, and concurrent calls never overspend."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from web.removebg.conftest import balance, post, sample_bytes

pytestmark = pytest.mark.slow


def _upload(data: bytes) -> dict:
    return {"image_file": ("photo.jpg", data, "image/jpeg")}


def _ledger(svc, acc) -> dict[str, list[str]]:
    by_task: dict[str, list[str]] = {}
    for e in balance(svc, acc)["ledger"]:
        if e["task_id"]:
            by_task.setdefault(e["task_id"], []).append(e["reason"])
    return by_task


def test_a_success_is_charged_exactly_once_and_shows_in_the_ledger(removebg_service):
    acc = removebg_service.new_account(5)
    r = post(removebg_service, acc, files=_upload(sample_bytes()))
    assert r.status_code == 200 and r.headers["x-credits-charged"] == "1"
    bal = balance(removebg_service, acc)
    assert (bal["credits"], bal["reserved"]) == (4, 0)
    assert [sorted(v) for v in _ledger(removebg_service, acc).values()] == [["charge"]]  # one line per outcome
    with removebg_service.client(acc) as c:  # the native API and the dashboard see the same task
        tasks = c.get("/api/v1/tasks").json()
    assert tasks["total"] == 1 and tasks["tasks"][0]["status"] == "succeeded"
    assert tasks["tasks"][0]["model"] == "bg-remover-fast"


def test_failures_are_free(removebg_service, photos):
    acc = removebg_service.new_account(3)
    truncated = post(removebg_service, acc, files=_upload(sample_bytes()[:3000]))  # fails in the worker
    assert truncated.status_code == 400, truncated.text
    assert truncated.json()["errors"][0]["code"] == "corrupt_image"
    missing = post(removebg_service, acc, data={"image_url": photos.url("nothing-here.jpg")})
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "image_fetch_failed"
    refused = post(removebg_service, acc, data={"image_url": photos.url("sample.jpg"), "add_shadow": "true"})
    assert refused.status_code == 400  # refused before any task: nothing reserved
    bal = balance(removebg_service, acc)
    assert (bal["credits"], bal["reserved"]) == (3, 0)
    assert sorted(sorted(v) for v in _ledger(removebg_service, acc).values()) == [["refund"]] * 2


def test_no_credits_is_402_and_creates_nothing(removebg_service):
    acc = removebg_service.new_account(0)
    r = post(removebg_service, acc, files=_upload(sample_bytes()))
    assert r.status_code == 402
    assert r.json() == {"errors": [{"title": "Insufficient credits", "code": "insufficient_credits",
                                    "detail": r.json()["errors"][0]["detail"]}]}
    with removebg_service.client(acc) as c:
        assert c.get("/api/v1/tasks").json()["total"] == 0


def test_concurrent_calls_against_a_small_balance_never_overspend(removebg_service):
    acc = removebg_service.new_account(2)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post(removebg_service, acc, files=_upload(sample_bytes()),
                                               data={"size": "preview"}), range(6)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 200, 402, 402, 402, 402], [r.text for r in answers if r.status_code not in (200, 402)]
    bal = balance(removebg_service, acc)
    assert (bal["credits"], bal["reserved"]) == (0, 0)
    assert sorted(sorted(v) for v in _ledger(removebg_service, acc).values()) == [["charge"]] * 2


def test_an_idempotency_key_repeat_returns_the_same_result_without_a_second_charge(removebg_service):
    acc = removebg_service.new_account(3)
    first = post(removebg_service, acc, files=_upload(sample_bytes()), headers={"Idempotency-Key": "k-1"})
    again = post(removebg_service, acc, files=_upload(sample_bytes()), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert balance(removebg_service, acc)["credits"] == 2
