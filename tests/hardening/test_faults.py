"""Faults: a worker killed while it encodes, the database locked for a while, a model file corrupted on disk,
the result disk (or the upload spool) full. Each ends with every task in a final state, the credits right
(balance = ledger sum, each task settled once) and the service still answering.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from bgremover.config import load_settings
from bgremover.pipeline.remover import Remover
from bgremover.service.credits import ledger_sum
from bgremover.store.tables import ledger_entries
from conftest import require
from hardening.conftest import FAST, require_u2netp, start_service
from service.helpers import RecordingQueue, make_account
from store.disk_full import fill, partials_on_dev_full, tiny_tmpfs
from store.postgres_cluster import PG_BIN, PG_MISSING, ThrowawayPostgres, new_cluster_root
from web.images import photo_bytes
from web.service_process import Account, ServiceProcess, poll_task

pytestmark = pytest.mark.slow
ENDPOINT = "/api/v1/images/tools/remove-bg"


def noise_jpeg(w: int, h: int, seed: int = 0) -> bytes:
    """Noise compresses worst, so the PNG encode of its cut-out is a long, easy-to-hit window."""
    arr = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def assert_books(svc: ServiceProcess, acc: Account) -> dict:
    """Balance = ledger sum, nothing reserved, and every task charged or refunded exactly once."""
    with svc.client(acc) as c:
        bal = c.get("/billing/credits").json()
    assert bal["reserved"] == 0, bal
    assert ledger_sum(svc.db, account_id=acc.id) == bal["credits"]
    with svc.db.read() as conn:
        rows = conn.execute(select(ledger_entries.c.task_id, ledger_entries.c.reason)
                            .where(ledger_entries.c.account_id == acc.id, ledger_entries.c.task_id.is_not(None))).all()
    settled: dict[str, int] = {}
    for r in rows:
        if r.reason in ("charge", "refund"):
            settled[r.task_id] = settled.get(r.task_id, 0) + 1
    assert all(n == 1 for n in settled.values()), settled
    assert set(settled) == {r.task_id for r in rows if r.reason == "reserve"}, "a task was never settled"
    return bal


def assert_answering(svc: ServiceProcess) -> None:
    assert httpx.get(f"{svc.base_url}/healthz", timeout=10).status_code == 200
    r = httpx.get(f"{svc.base_url}/readyz", timeout=10)
    assert r.status_code == 200, r.text


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_worker_killed_during_encode(hardened: ServiceProcess, image_host) -> None:
    """SIGKILL lands in the encode window (placed by a warm-up run of the same image): the lease runs out,
    the supervisor restarts the worker, the task runs again, succeeds, and is charged once."""
    # 7.7 MP: since PNG strips are compressed on every core, a 3.8 MP encode (about 0.1 s) was too short a window
    # to hit reliably on a loaded machine; here it is about a third of the run
    image_host.files["noise.jpg"] = noise_jpeg(3200, 2400)
    acc = hardened.new_account(10)
    body = {"image": image_host.url("noise.jpg"), "model": FAST}
    stages = Remover(load_settings(onnx_threads=1)).remove(image_host.files["noise.jpg"], model=FAST).timings
    encode_share = stages["encode"] / sum(stages.values())
    charged = 0
    with hardened.client(acc) as c:
        runs = []
        for _ in range(2):  # the first may include loading the model
            warm = poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"])
            assert warm["status"] == "succeeded", warm
            runs.append(_ts(warm["finished_at"]) - _ts(warm["started_at"]))
            charged += 1
        run_s = min(runs)
        kill_at = run_s * (1 - encode_share / 2)  # the middle of the encode window, by the warm-up's clock
        for _ in range(3):  # on a busy machine a run may finish early; then try again with a new task
            pid = hardened.worker_pids()[0]
            tid = c.post(ENDPOINT, json=body).json()["task_id"]
            task = poll_task(c, tid, until=("processing",))
            time.sleep(max(0.0, _ts(task["started_at"]) + kill_at - time.time()))
            os.kill(pid, signal.SIGKILL)
            charged += 1
            if c.get(f"/api/v1/tasks/{tid}").json()["status"] == "processing":
                break
            wait_for_new_worker(hardened, pid)
        else:
            pytest.fail("each run finished before the kill: the encode window could not be hit")
        assert_answering(hardened)  # the API does not depend on the worker
        final = poll_task(c, tid, timeout=90)
    assert final["status"] == "succeeded", final
    assert final["credits_charged"] == 1
    with hardened.db.read() as conn:
        from bgremover.store.tables import tasks

        assert conn.execute(select(tasks.c.attempts).where(tasks.c.id == tid)).scalar_one() == 2
    assert httpx.get(final["result"]["url"], timeout=30).content[:4] == b"\x89PNG"
    assert assert_books(hardened, acc)["credits"] == 10 - charged
    assert pid not in hardened.worker_pids() and hardened.worker_pids(), "the supervisor restarted the worker"
    print(f"stages {stages}; killed {kill_at:.2f}s into a {run_s:.2f}s run (encode share {encode_share:.0%})")


def wait_for_new_worker(svc: ServiceProcess, dead: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [p for p in svc.worker_pids() if p != dead]:
            return
        time.sleep(0.2)
    raise AssertionError("the supervisor did not restart the worker")


def test_database_locked_for_a_while(hardened: ServiceProcess, image_host) -> None:
    """Another process holds the SQLite write lock for 4 s while a task finishes and clients submit: writers
    wait (busy timeout), every request is answered, and the books balance afterwards."""
    acc = hardened.new_account(10)
    body = {"image": image_host.url("photo.jpg"), "model": FAST}
    db_file = hardened.data_dir / "bgremover.db"
    with hardened.client(acc) as c:
        first = c.post(ENDPOINT, json=body).json()["task_id"]
        poll_task(c, first, until=("processing", "succeeded"))
    locker = sqlite3.connect(db_file, timeout=30, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release() -> None:
        time.sleep(4)
        locker.execute("COMMIT")
        locker.close()
        released.set()

    threading.Thread(target=release).start()
    t0 = time.monotonic()

    def submit(_: int) -> tuple[int, float]:
        with hardened.client(acc, timeout=60) as c:
            r = c.post(ENDPOINT, json=body)
            return r.status_code, time.monotonic() - t0

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(submit, range(4)))
        health = httpx.get(f"{hardened.base_url}/healthz", timeout=5)
    assert health.status_code == 200
    assert [s for s, _ in answers] == [202] * 4, answers
    assert max(t for _, t in answers) >= 3, "the lock did not hold the writers (the test proves nothing)"
    released.wait(10)
    with hardened.client(acc) as c:
        ids = [first] + [t["task_id"] for t in c.get("/api/v1/tasks").json()["tasks"] if t["task_id"] != first]
        finals = [poll_task(c, t, timeout=90) for t in ids]
    assert [f["status"] for f in finals] == ["succeeded"] * 5, finals
    assert assert_books(hardened, acc)["credits"] == 5
    assert_answering(hardened)


@pytest.fixture
def own_model_dir(tmp_path: Path) -> Path:
    require_u2netp()
    src = load_settings().model_dir / "u2netp.onnx"
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy2(src, d / "u2netp.onnx")
    return d


def test_model_file_corrupted_on_disk(own_model_dir: Path, tmp_path: Path, image_host) -> None:
    """One flipped byte: tasks fail with model_corrupt and are refunded, the worker is not restarted in a loop,
    and once the file is replaced the next task succeeds without restarting anything."""
    model = own_model_dir / "u2netp.onnx"
    good = model.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    model.write_bytes(bytes(bad))
    svc = start_service(tmp_path / "svc", BGREMOVER_MODEL_DIR=str(own_model_dir))
    try:
        acc = svc.new_account(5)
        body = {"image": image_host.url("photo.jpg"), "model": FAST}
        with svc.client(acc) as c:
            finals = [poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"]) for _ in range(2)]
            for f in finals:
                assert f["status"] == "failed" and f["error"]["code"] == "model_corrupt", f
                assert str(own_model_dir) not in f["error"]["message"]  # server paths stay in the log
            assert "checksum" in svc.log_text()  # ... where the operator reads what to do
            assert c.get("/billing/credits").json()["credits"] == 5
            assert_answering(svc)
            assert "exited with" not in svc.log_text(), "the worker crashed instead of failing the task"
            model.write_bytes(good)  # the operator re-fetches the model
            healed = poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"])
        assert healed["status"] == "succeeded", healed
        assert assert_books(svc, acc)["credits"] == 4
    finally:
        svc.stop()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_disk_full_when_the_result_is_written(tmp_path: Path, image_host) -> None:
    """The result directory is a real 1 MiB tmpfs, nearly filled: writing the result fails with ENOSPC. The task
    fails with ``storage_full`` and is refunded, no partial file is left; an upload the API cannot store answers
    507 ``storage_full``, nothing created; and with space freed the next task succeeds."""
    require_u2netp()
    results = tmp_path / "svc" / "data" / "results"
    require(_mount_tmpfs(results, "1m"), "mounting a small tmpfs needs root (CI runs as root)")
    svc = None
    try:
        svc = start_service(tmp_path / "svc")
        filler = fill(results, leave=8192)  # far less than the cut-out (or the upload below) needs
        image_host.files["big.jpg"] = noise_jpeg(400, 300, seed=1)
        acc = svc.new_account(5)
        body = {"image": image_host.url("big.jpg"), "model": FAST}
        with svc.client(acc) as c:
            failed = poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"])
            assert failed["status"] == "failed" and failed["credits_charged"] == 0, failed
            assert failed["error"]["code"] == "storage_full"
            assert str(tmp_path) not in failed["error"]["message"]  # which disk is the operator's business ...
            assert "No space left on device" in svc.log_text()  # ... and the log tells them
            refused = c.post(ENDPOINT, data={"model": FAST},
                             files={"image_file": ("big.jpg", image_host.files["big.jpg"], "image/jpeg")})
            assert refused.status_code == 507, refused.text
            assert refused.json()["error"]["code"] == "storage_full"
            assert c.get("/api/v1/tasks").json()["total"] == 1, "the refused upload created a task"
            assert not [p.name for p in results.iterdir() if p.name != "filler"], "a partial file was left"
            assert_answering(svc)
            filler.unlink()
            ok = poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"])
        assert ok["status"] == "succeeded", ok
        assert assert_books(svc, acc)["credits"] == 4
    finally:
        if svc is not None:
            svc.stop()
        subprocess.run(["umount", "-l", str(results)], capture_output=True)


@contextmanager
def in_process_api(data_dir: Path, **settings: Any) -> Iterator[tuple[TestClient, Any, int]]:
    """The app in-process (no worker: tasks are only recorded as enqueued) with a key for a 5-credit account."""
    require_u2netp()
    from bgremover.service.keys import create_key
    from bgremover.store.migrate import upgrade
    from bgremover.web.app import create_app

    settings.setdefault("fetch_allow_networks", "127.0.0.1/32")  # as served tests allow: queued, never fetched
    config = load_settings(data_dir=data_dir, **settings)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(config.effective_database_url)
    app = create_app(config, queue=RecordingQueue())
    state = app.state.bg
    acc = make_account(state.db, 5)
    _, key = create_key(state.db, state.secret, account_id=acc)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}, raise_server_exceptions=False) as c:
        yield c, state, acc


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Any, int]]:
    with in_process_api(tmp_path / "data") as running:
        yield running


def _refused_as_storage_full(c: TestClient, r: httpx.Response, tmp_path: Path) -> None:
    """507 in the standard envelope, naming no server path, and nothing created or reserved."""
    assert r.status_code == 507, r.text
    assert r.json()["error"]["code"] == "storage_full" and str(tmp_path) not in r.text
    assert c.get("/api/v1/tasks").json()["total"] == 0
    assert c.get("/billing/credits").json()["reserved"] == 0


def test_disk_full_when_an_upload_is_stored(api, tmp_path: Path, monkeypatch) -> None:
    """The API stores an upload or a data: URI for the worker; a real ENOSPC there (the write goes to /dev/full)
    answers 507 ``storage_full`` instead of 500, charges nothing and leaves no partial file."""
    c, state, acc = api
    handed = partials_on_dev_full(monkeypatch, state.blobs)
    photo = photo_bytes((72, 48))
    uploaded = c.post(ENDPOINT, data={"model": FAST}, files={"image_file": ("p.jpg", photo, "image/jpeg")})
    _refused_as_storage_full(c, uploaded, tmp_path)
    data_uri = "data:image/jpeg;base64," + base64.b64encode(photo).decode()
    _refused_as_storage_full(c, c.post(ENDPOINT, json={"model": FAST, "image": data_uri}), tmp_path)
    assert len(handed) == 2, "the writes did not go to /dev/full (the test proves nothing)"
    assert list(state.blobs.root.iterdir()) == []
    assert state.queue.ids == []
    assert c.get("/billing/credits").json()["credits"] == 5


def test_disk_full_while_an_upload_is_spooled(api, tmp_path: Path, monkeypatch) -> None:
    """A multipart upload over 1 MiB is spooled to the temporary directory; with that a full 64 KiB tmpfs, the
    spooling hits a real ENOSPC: 507 ``storage_full``, not 500, and nothing created."""
    c, _, _ = api
    with tiny_tmpfs(tmp_path / "spool") as spool:
        fill(spool)
        monkeypatch.setattr(tempfile, "tempdir", str(spool))  # what TMPDIR would say to a fresh process
        big = photo_bytes((72, 48)) + os.urandom(1_500_000)  # over the spool's 1 MiB in memory
        r = c.post(ENDPOINT, data={"model": FAST}, files={"image_file": ("big.jpg", big, "image/jpeg")})
        monkeypatch.undo()
        _refused_as_storage_full(c, r, tmp_path)
        assert [p.name for p in spool.iterdir()] == ["filler"]


@pytest.fixture
def api_on_a_full_database(tmp_path: Path) -> Iterator[tuple[TestClient, Any, int, Path]]:
    """The app with BGREMOVER_RESULT_STORE=database and its data dir (the SQLite database) on a 1 MiB tmpfs; the
    key has been used once (so authenticating writes nothing) and one URL task is queued. The caller fills the
    disk with the returned path's ``fill``."""
    with tiny_tmpfs(tmp_path / "data", "1m") as data, in_process_api(data, result_store="database") as (c, state, acc):
        assert c.get("/billing/credits").status_code == 200
        queued = c.post(ENDPOINT, json={"model": FAST, "image": "http://127.0.0.1:9/queued.jpg"})
        assert queued.status_code == 202, queued.text
        yield c, state, acc, data


def _nothing_more_committed(c: TestClient, state: Any, acc: int) -> None:
    """Still the one queued task, its one credit reserved, and the books as they were."""
    assert c.get("/api/v1/tasks").json()["total"] == 1
    bal = c.get("/billing/credits").json()
    assert (bal["credits"], bal["reserved"]) == (4, 1)
    assert ledger_sum(state.db, account_id=acc) == 4
    assert len(state.queue.ids) == 1


def test_a_full_database_refuses_submissions_as_storage_full(api_on_a_full_database, tmp_path: Path, caplog) -> None:
    """The result store is the database, and its disk is full: storing an upload, a data: URI, or (for a URL)
    committing the submission itself fails with "database or disk is full". Each answers 507 ``storage_full``,
    not 503 ``service_unavailable``, and commits nothing; with space freed the same submission is accepted."""
    c, state, acc, data = api_on_a_full_database
    filler = fill(data)
    photo = photo_bytes((72, 48))
    data_uri = "data:image/jpeg;base64," + base64.b64encode(photo).decode()
    url = {"model": FAST, "image": "http://127.0.0.1:9/new.jpg"}
    answers = [c.post(ENDPOINT, data={"model": FAST}, files={"image_file": ("p.jpg", photo, "image/jpeg")}),
               c.post(ENDPOINT, json={"model": FAST, "image": data_uri}),
               c.post(ENDPOINT, json=url)]
    for r in answers:
        assert r.status_code == 507, r.text
        assert r.json()["error"]["code"] == "storage_full" and str(tmp_path) not in r.text
    _nothing_more_committed(c, state, acc)
    assert caplog.text.count("database or disk is full") >= 3, "the operator is told what happened"
    filler.unlink()
    assert c.post(ENDPOINT, json=url).status_code == 202


def test_a_full_database_answers_any_write_with_storage_full(api_on_a_full_database, tmp_path: Path) -> None:
    """Not only the submission: canceling a queued task (a refund, so a write) on a full database answers 507
    ``storage_full`` from the generic database-error handler, not 503; the task stays queued, nothing refunded."""
    c, state, acc, data = api_on_a_full_database
    task_id = c.get("/api/v1/tasks").json()["tasks"][0]["task_id"]
    fill(data)
    r = c.delete(f"/api/v1/tasks/{task_id}")
    assert r.status_code == 507, r.text
    assert r.json()["error"]["code"] == "storage_full" and str(tmp_path) not in r.text
    assert c.get(f"/api/v1/tasks/{task_id}").json()["status"] == "queued"
    _nothing_more_committed(c, state, acc)


def test_database_down_for_a_few_seconds(tmp_path: Path, image_host) -> None:
    """PostgreSQL stopped hard for ~4 s: the API answers 503 service_unavailable with Retry-After at once,
    /healthz stays up, /readyz says which dependency is down; the client library retries through the outage;
    the task whose claim failed is retried by the queue; afterwards everything is final and the books balance."""
    require_u2netp()
    require(bool(PG_BIN) and shutil.which("psql") is not None, PG_MISSING)
    from bgremover.client import Client
    from bgremover.store.migrate import upgrade

    pg_root = new_cluster_root()
    pg = ThrowawayPostgres(pg_root)
    svc = None
    try:
        upgrade(pg.url)
        svc = start_service(tmp_path / "svc", BGREMOVER_DATABASE_URL=pg.url)
        acc = svc.new_account(10)
        body = {"image": image_host.url("photo.jpg"), "model": FAST}
        with svc.client(acc) as c:
            assert poll_task(c, c.post(ENDPOINT, json=body).json()["task_id"])["status"] == "succeeded"
            caught = c.post(ENDPOINT, json=body).json()["task_id"]  # in the queue when the database goes
            pg.stop()
            r = c.post(ENDPOINT, json=body, timeout=30)  # an answer, not a hang on the pool (httpx raises then)
            assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable", r.text
            assert int(r.headers["retry-after"]) > 0
            assert c.get("/healthz").status_code == 200
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("error"), ready.text
            result: dict[str, bytes] = {}
            client = Client(svc.base_url, acc.key, timeout=30)
            through = threading.Thread(target=lambda: result.setdefault("png", client.remove(
                image_host.url("photo.jpg"), model=FAST, timeout=90)))
            through.start()  # submits during the outage: 503 + Retry-After, retried by the client
            time.sleep(4)
            pg.start()
            through.join(120)
            assert result.get("png", b"")[:4] == b"\x89PNG", "the client did not get through the outage"
            assert poll_task(c, caught, timeout=90)["status"] == "succeeded"
            assert [t["status"] for t in c.get("/api/v1/tasks").json()["tasks"]] == ["succeeded"] * 3
        assert assert_books(svc, acc)["credits"] == 7
        assert_answering(svc)
    finally:
        if svc is not None:
            svc.stop()
        pg.stop(check=False)  # already stopped if the test failed during the outage
        shutil.rmtree(pg_root, ignore_errors=True)
