"""Signed result URLs: they open the result without a key, and nothing else does — not a tampered signature,
not another task's signature, not a URL past its expiry, not one signed with another secret."""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from bgremover.service.results import result_signature
from bgremover.store.tables import tasks, utcnow
from hardening.conftest import FAST
from web.service_process import ServiceProcess, poll_task


def _succeeded(svc: ServiceProcess, image_host) -> tuple[dict, str, str]:
    acc = svc.new_account(3)
    with svc.client(acc) as c:
        r = c.post("/api/v1/images/tools/remove-bg", json={"image": image_host.url("photo.jpg"), "model": FAST})
        task = poll_task(c, r.json()["task_id"])
    assert task["status"] == "succeeded", task
    url = task["result"]["url"]
    q = parse_qs(urlsplit(url).query)
    return task, q["expires"][0], q["signature"][0]


@pytest.fixture(scope="module")
def two_results(hardened, image_host):
    return _succeeded(hardened, image_host), _succeeded(hardened, image_host)


def _get(svc: ServiceProcess, task_id: str, expires: str | int, signature: str) -> httpx.Response:
    return httpx.get(f"{svc.base_url}/api/v1/tasks/{task_id}/result",
                     params={"expires": str(expires), "signature": signature}, timeout=30)


def test_the_signed_url_works_without_a_key(hardened, two_results) -> None:
    (task, _, _), _ = two_results
    r = httpx.get(task["result"]["url"], timeout=30)
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert r.headers["content-type"] == "image/png"


def _flip(sig: str, i: int) -> str:
    return sig[:i] + ("0" if sig[i] != "0" else "1") + sig[i + 1:]


def test_forged_signatures_are_refused(hardened, two_results) -> None:
    (task, expires, sig), (other, other_expires, other_sig) = two_results
    tid = task["task_id"]
    forged = {
        "flipped first hex digit": (tid, expires, _flip(sig, 0)),
        "flipped last hex digit": (tid, expires, _flip(sig, len(sig) - 1)),
        "truncated": (tid, expires, sig[:-2]),
        "empty": (tid, expires, ""),
        "upper-cased": (tid, expires, sig.upper()),
        "expiry pushed out a year": (tid, int(expires) + 365 * 86400, sig),
        "another task's signature": (tid, other_expires, other_sig),
        "signed with another secret": (tid, expires, result_signature(b"not the server's secret", tid, int(expires))),
        "non-numeric expiry": (tid, "soon", sig),
    }
    for what, (task_id, exp, signature) in forged.items():
        r = _get(hardened, task_id, exp, signature)
        assert r.status_code in (400, 404), (what, r.status_code, r.text)
        assert not r.content.startswith(b"\x89PNG"), what
    assert _get(hardened, other["task_id"], other_expires, other_sig).status_code == 200, "the genuine one still works"


def test_a_signature_for_a_past_expiry_is_refused_even_while_the_result_exists(hardened, two_results) -> None:
    """Only the server can sign; but a URL it signed once for an earlier expiry must stop working then."""
    (task, _, _), _ = two_results
    past = int(time.time()) - 60
    r = _get(hardened, task["task_id"], past, result_signature(hardened.secret, task["task_id"], past))
    assert r.status_code == 410 and r.json()["error"]["code"] == "result_expired", r.text


def test_after_expiry_the_genuine_url_answers_410_and_the_file_is_deleted(hardened, image_host) -> None:
    task, expires, sig = _succeeded(hardened, image_host)
    with hardened.db.write() as conn:  # the clock jumps past this one result's expiry
        conn.execute(update(tasks).where(tasks.c.id == task["task_id"])
                     .values(result_expires_at=utcnow() - timedelta(seconds=1)))
    r = httpx.get(task["result"]["url"], timeout=30)
    assert r.status_code == 410 and r.json()["error"]["code"] == "result_expired"
    results = hardened.data_dir / "results"
    deadline = time.monotonic() + 20  # the worker's maintenance loop deletes it (every lease_s / 3)
    while any(p.name.startswith(task["task_id"]) for p in results.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(p.name.startswith(task["task_id"]) for p in results.iterdir()), "expired result still on disk"
    assert httpx.get(task["result"]["url"], timeout=30).status_code == 410
