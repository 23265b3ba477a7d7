"""finished_among: which of a list of tasks are final, in one query per 500 ids."""
from __future__ import annotations

from bgremover.service import lifecycle
from bgremover.service.completions import CHUNK, finished_among
from bgremover.service.lifecycle import ResultInfo
from bgremover.service.tasks import cancel_task
from bgremover.store.results import LocalResultStore
from service.helpers import make_account, settings_for, submit


def test_only_succeeded_failed_and_canceled_tasks_are_finished(db, tmp_path):
    settings = settings_for(tmp_path)
    acc = make_account(db, 10)
    queued, running, won, lost, dropped = (submit(db, tmp_path, acc)[0].id for _ in range(5))
    lifecycle.claim_task(db, settings, running)
    claim = lifecycle.claim_task(db, settings, won)
    result = ResultInfo("r.png", "image/png", 4, 3, 10)
    assert claim is not None and lifecycle.complete_task(db, settings, claim, result, 0.1)
    claim = lifecycle.claim_task(db, settings, lost)
    assert claim is not None and lifecycle.fail_task(db, claim, "invalid_image", "not an image")
    cancel_task(db, LocalResultStore(tmp_path / "blobs"), task_id=dropped, account_id=acc)

    assert finished_among(db, [queued, running, won, lost, dropped, "no-such-task"]) == {won, lost, dropped}
    assert finished_among(db, []) == set()


def test_a_list_longer_than_one_query_takes_is_read_in_chunks(db, tmp_path):
    acc = make_account(db, 10)
    task, _ = submit(db, tmp_path, acc)
    cancel_task(db, LocalResultStore(tmp_path / "blobs"), task_id=task.id, account_id=acc)
    ids = [f"missing-{i}" for i in range(2 * CHUNK + 7)]
    ids.insert(CHUNK + 3, task.id)  # in the second chunk
    assert finished_among(db, ids) == {task.id}
