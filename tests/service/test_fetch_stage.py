"""The fetch stage's transitions: a URL task is fetched under a lease, handed to the model queue once, and an
account never holds more than its share of fetches (SQLite, and PostgreSQL in its own schema)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bgremover.service import credits, fetch_stage, lifecycle
from bgremover.service.tasks import cancel_task, get_task
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import tasks, utcnow
from service.helpers import RecordingQueue, make_account, settings_for, submit


def _expire_lease(db, task_id):
    with db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.id == task_id)
                     .values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_a_url_task_is_fetched_under_a_lease_then_handed_to_the_model_once(db, tmp_path):
    settings = settings_for(tmp_path)
    acc = make_account(db, 3)
    task, _ = submit(db, tmp_path, acc)
    assert fetch_stage.needs_fetch(db, task.id)
    assert fetch_stage.claim_fetch(db, settings, task.id).claim is not None
    fetching = get_task(db, task.id)
    assert (fetching.status, fetching.attempts) == ("processing", 1)
    assert not fetch_stage.needs_fetch(db, task.id), "a task being fetched is not fetched twice"
    assert fetch_stage.claim_fetch(db, settings, task.id).claim is None


def test_hand_over_stores_the_input_and_gives_the_attempt_back(db, tmp_path):
    settings = settings_for(tmp_path)
    acc = make_account(db, 3)
    task, _ = submit(db, tmp_path, acc)
    claim = fetch_stage.claim_fetch(db, settings, task.id).claim
    key = fetch_stage.input_key_for(claim)
    assert fetch_stage.hand_over(db, claim, key)
    handed = get_task(db, task.id)
    assert (handed.status, handed.input_key, handed.attempts) == ("queued", key, 0)
    assert not fetch_stage.needs_fetch(db, task.id), "its input is local now: the model's work"
    assert not fetch_stage.hand_over(db, claim, key), "once"
    model = lifecycle.claim_task(db, settings, task.id)
    assert model is not None and model.task.input_key == key and model.task.attempts == 1
    assert credits.balance(db, account_id=acc).credits == 2, "still reserved, not charged, not refunded"


def test_an_account_holds_at_most_its_share_of_fetches_and_others_go_ahead(db, tmp_path):
    settings = settings_for(tmp_path, fetch_per_account=2)
    a, b = make_account(db, 10), make_account(db, 10)
    a_tasks = [submit(db, tmp_path, a, settings=settings)[0] for _ in range(3)]
    b_task, _ = submit(db, tmp_path, b, settings=settings)
    first, second = (fetch_stage.claim_fetch(db, settings, t.id) for t in a_tasks[:2])
    assert first.claim and second.claim
    third = fetch_stage.claim_fetch(db, settings, a_tasks[2].id)
    assert third.claim is None and third.over_share, "A's third waits while A holds two fetches"
    assert get_task(db, a_tasks[2].id).status == "queued"
    assert fetch_stage.claim_fetch(db, settings, b_task.id).claim is not None, "B is not held up by A"
    fetch_stage.hand_over(db, first.claim, fetch_stage.input_key_for(first.claim))
    assert fetch_stage.claim_fetch(db, settings, a_tasks[2].id).claim is not None, "a slot freed: A's turn"


def test_a_canceled_or_uploaded_task_is_never_fetched_and_not_deferred(db, tmp_path):
    settings = settings_for(tmp_path, fetch_per_account=1)
    acc = make_account(db, 5)
    upload, _ = submit(db, tmp_path, acc, source_url=None, input_data=b"image-bytes")
    assert not fetch_stage.needs_fetch(db, upload.id)
    assert fetch_stage.claim_fetch(db, settings, upload.id) == fetch_stage.FetchTurn()
    task, _ = submit(db, tmp_path, acc)
    cancel_task(db, LocalResultStore(tmp_path / "blobs"), task_id=task.id, account_id=acc)
    assert fetch_stage.claim_fetch(db, settings, task.id) == fetch_stage.FetchTurn()
    busy, _ = submit(db, tmp_path, acc)
    assert fetch_stage.claim_fetch(db, settings, busy.id).claim is not None
    late, _ = submit(db, tmp_path, acc)
    cancel_task(db, LocalResultStore(tmp_path / "blobs"), task_id=late.id, account_id=acc)
    assert not fetch_stage.claim_fetch(db, settings, late.id).over_share, "a canceled task is dropped, not retried"


def test_a_dead_fetcher_is_reaped_like_a_dead_model_worker_and_the_task_is_fetched_again(db, tmp_path):
    settings = settings_for(tmp_path)
    acc, queue = make_account(db, 3), RecordingQueue()
    task, _ = submit(db, tmp_path, acc, queue=queue)
    dead = fetch_stage.claim_fetch(db, settings, task.id).claim
    _expire_lease(db, task.id)
    assert lifecycle.reap_expired_leases(db, settings, queue)["requeued"] == 1
    assert queue.ids == [task.id, task.id] and fetch_stage.needs_fetch(db, task.id), "back to the fetch stage"
    assert not fetch_stage.hand_over(db, dead, fetch_stage.input_key_for(dead)), "the dead fetcher's token is void"
    again = fetch_stage.claim_fetch(db, settings, task.id).claim
    assert again is not None and again.token != dead.token
    assert fetch_stage.input_key_for(again) != fetch_stage.input_key_for(dead)


def test_a_fetch_that_keeps_dying_fails_and_refunds_after_the_last_attempt(db, tmp_path):
    settings = settings_for(tmp_path, task_max_attempts=2)
    acc, queue = make_account(db, 3), RecordingQueue()
    task, _ = submit(db, tmp_path, acc, queue=queue)
    for _ in range(2):
        assert fetch_stage.claim_fetch(db, settings, task.id).claim is not None
        _expire_lease(db, task.id)
        lifecycle.reap_expired_leases(db, settings, queue)
    final = get_task(db, task.id)
    assert (final.status, final.error_code) == ("failed", "task_lease_expired")
    assert credits.balance(db, account_id=acc).credits == 3
