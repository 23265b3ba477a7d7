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


def test_sigterm_finishes_the_current_task_and_takes_no_new_one(tmp_path, remover):
    env = {**os.environ, "BGREMOVER_DATA_DIR": str(tmp_path / "data"), "BGREMOVER_SECRET_KEY": "x" * 32,
           "BGREMOVER_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "BGREMOVER_ONNX_THREADS": "1"}
    settings = load_settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    db = Database.from_settings(settings)
    queue = register_jobs(make_huey(settings), settings).queue
    acc = make_account(db, 5)
    with ImageServer() as images:
        images.files["p.jpg"] = photo_bytes((64, 64))

        def submit(url: str) -> str:
            task, _ = submit_task(db, make_result_store(settings, db), queue, settings, account_id=acc,
                                  credits_cost=1, request=TaskRequest(model="bg-remover-fast", source_url=url))
            return task.id

        first = submit(images.url("p.jpg", slow=2))
        proc = subprocess.Popen([str(BIN), "worker", "--concurrency", "1"], env=env, stderr=subprocess.PIPE)
        try:
            assert _wait_status(db, first, ("processing",)) == "processing"
            second = submit(images.url("p.jpg"))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert get_task(db, first).status == "succeeded", "the task in hand was finished"
    assert get_task(db, second).status == "queued", "no new task was taken after SIGTERM"
    db.dispose()
