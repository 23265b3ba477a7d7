"""``bgremover worker`` as a real process: it processes queued tasks, and SIGTERM lets the current one finish."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bgremover.config import load_settings
from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import register_jobs
from bgremover.service import credits
from bgremover.service.tasks import TaskRequest, get_task, submit_task
from bgremover.store.database import Database
from bgremover.store.migrate import upgrade
from bgremover.store.results import make_result_store
from service.helpers import make_account
from web.images import ImageServer, photo_bytes

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "bgremover"


def _wait_status(db, task_id: str, statuses: tuple[str, ...], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while (status := get_task(db, task_id).status) not in statuses and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


def test_sigterm_finishes_the_inference_and_the_fetch_in_hand_and_takes_no_new_task(tmp_path, remover):
    """SIGTERM while the model works on an upload and a fetch thread downloads a slow URL: the inference
    finishes (succeeded), the fetch finishes and hands its task over (queued, input stored, nothing charged),
    and a task submitted after the signal is not taken. The next worker finishes both, each charged once."""
    env = {**os.environ, "BGREMOVER_DATA_DIR": str(tmp_path / "data"), "BGREMOVER_SECRET_KEY": "x" * 32,
           "BGREMOVER_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "BGREMOVER_ONNX_THREADS": "1",
           "BGREMOVER_FETCH_MIN_BYTES_PER_S": "0"}
    settings = load_settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    db = Database.from_settings(settings)
    queue = register_jobs(make_huey(settings), settings).queue
    acc = make_account(db, 5)
    with ImageServer() as images:
        images.files["p.jpg"] = photo_bytes((64, 64))

        def submit(**request) -> str:
            task, _ = submit_task(db, make_result_store(settings, db), queue, settings, account_id=acc,
                                  credits_cost=1, request=TaskRequest(model="bg-remover-fast", **request))
            return task.id

        inferring = submit(input_data=photo_bytes((3000, 2000)))  # seconds of work for one core
        fetching = submit(source_url=images.url("p.jpg", slow=3))
        proc = subprocess.Popen([str(BIN), "worker", "--concurrency", "1"], env=env, stderr=subprocess.PIPE)
        try:
            assert _wait_status(db, inferring, ("processing",)) == "processing"
            assert _wait_status(db, fetching, ("processing",)) == "processing"
            proc.send_signal(signal.SIGTERM)
            later = submit(input_data=photo_bytes((64, 64)))
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert get_task(db, inferring).status == "succeeded", "the inference in hand was finished"
        handed = get_task(db, fetching)
        assert (handed.status, handed.credits_charged) == ("queued", 0) and handed.input_key, \
            "the fetch in hand was finished and its task handed over with its image"
        assert get_task(db, later).status == "queued", "no new task was taken after SIGTERM"
        proc = subprocess.Popen([str(BIN), "worker", "--concurrency", "1"], env=env, stderr=subprocess.PIPE)
        try:
            assert _wait_status(db, fetching, ("succeeded", "failed")) == "succeeded"
            assert _wait_status(db, later, ("succeeded", "failed")) == "succeeded"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert images.requests.count("/img/p.jpg") == 1, "the handed-over image was not fetched again"
    assert credits.balance(db, account_id=acc).credits == 2
    db.dispose()
