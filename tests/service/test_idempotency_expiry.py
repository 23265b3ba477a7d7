"""Idempotency keys expire, as Stripe's do: a key is remembered for ``idempotency_ttl_s`` (24 h by default);
after that, reusing it creates a new task as if it had never been seen, and the workers' sweep deletes it.

Keys are aged by writing ``created_at`` in the past directly, never by sleeping.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bgremover.service import credits
from bgremover.service.tasks import TaskRequest, forget_expired_idempotency_keys, idempotency_ttl, submit_task
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import idempotency_keys, utcnow
from service.helpers import RecordingQueue, make_account, settings_for

DAY = timedelta(hours=24)
REQUEST = TaskRequest(model="bg-remover-fast", source_url="http://127.0.0.1:9/a.jpg")


def _submit(db, tmp_path, account_id: int, key: str, request: TaskRequest = REQUEST, **settings):
    return submit_task(db, LocalResultStore(tmp_path / "blobs"), RecordingQueue(), settings_for(tmp_path, **settings),
                       account_id=account_id, request=request, credits_cost=1, idempotency_key=key)


def _age(db, account_id: int, key: str, age: timedelta) -> None:
    """Pretend the key was first used ``age`` ago."""
    with db.write() as conn:
        conn.execute(update(idempotency_keys).where(idempotency_keys.c.account_id == account_id,
                                                    idempotency_keys.c.key == key)
                     .values(created_at=utcnow() - age))


def _remembered(db) -> set[tuple[int, str, str]]:
    with db.read() as conn:
        rows = conn.execute(select(idempotency_keys.c.account_id, idempotency_keys.c.key,
                                   idempotency_keys.c.task_id)).all()
    return {(r.account_id, r.key, r.task_id) for r in rows}


def test_the_default_ttl_is_24_hours(tmp_path):
    assert idempotency_ttl(settings_for(tmp_path)) == DAY


def test_the_ttl_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BGREMOVER_IDEMPOTENCY_TTL_S", "600")
    assert idempotency_ttl(settings_for(tmp_path)) == timedelta(minutes=10)


def test_the_same_key_within_the_ttl_returns_the_same_task(db, tmp_path):
    acc = make_account(db, 5)
    first, created = _submit(db, tmp_path, acc, "order-1")
    _age(db, acc, "order-1", DAY - timedelta(minutes=1))
    again, created_again = _submit(db, tmp_path, acc, "order-1")
    assert (created, created_again) == (True, False) and again.id == first.id
    assert credits.balance(db, account_id=acc).reserved == 1, "one task, one reservation"


def test_the_same_key_after_the_ttl_creates_a_new_task(db, tmp_path):
    acc = make_account(db, 5)
    first, _ = _submit(db, tmp_path, acc, "order-1")
    _age(db, acc, "order-1", DAY + timedelta(seconds=1))
    later, created = _submit(db, tmp_path, acc, "order-1")
    assert created and later.id != first.id
    assert credits.balance(db, account_id=acc).reserved == 2
    assert _remembered(db) == {(acc, "order-1", later.id)}, "the key now names the new task, once"
    repeat, created_again = _submit(db, tmp_path, acc, "order-1")
    assert not created_again and repeat.id == later.id, "and is remembered afresh from now"


def test_an_expired_key_with_a_different_request_is_not_a_conflict(db, tmp_path):
    acc = make_account(db, 5)
    _submit(db, tmp_path, acc, "order-1")
    _age(db, acc, "order-1", DAY + timedelta(seconds=1))
    other = TaskRequest(model="bg-remover-fast", output_format="webp", source_url=REQUEST.source_url)
    task, created = _submit(db, tmp_path, acc, "order-1", request=other)
    assert created and task.output_format == "webp"


def test_the_ttl_setting_decides_when_a_key_expires(db, tmp_path):
    acc = make_account(db, 5)
    first, _ = _submit(db, tmp_path, acc, "order-1", idempotency_ttl_s=60)
    _age(db, acc, "order-1", timedelta(minutes=2))
    assert _submit(db, tmp_path, acc, "order-1", idempotency_ttl_s=3600)[0].id == first.id
    assert _submit(db, tmp_path, acc, "order-1", idempotency_ttl_s=60)[0].id != first.id


def test_another_accounts_same_key_is_unaffected_by_expiry(db, tmp_path):
    mine, theirs = make_account(db, 5), make_account(db, 5)
    _submit(db, tmp_path, mine, "order-1")
    their_task, _ = _submit(db, tmp_path, theirs, "order-1")
    _age(db, mine, "order-1", DAY + timedelta(seconds=1))
    assert _submit(db, tmp_path, mine, "order-1")[1], "my expired key makes a new task"
    again, created = _submit(db, tmp_path, theirs, "order-1")
    assert not created and again.id == their_task.id, "their live key still answers their task"


def test_the_sweep_deletes_only_expired_keys(db, tmp_path):
    mine, theirs = make_account(db, 5), make_account(db, 5)
    expired, _ = _submit(db, tmp_path, mine, "old")
    live, _ = _submit(db, tmp_path, mine, "new")
    their_live, _ = _submit(db, tmp_path, theirs, "old")
    their_expired, _ = _submit(db, tmp_path, theirs, "new")
    _age(db, mine, "old", DAY + timedelta(seconds=1))
    _age(db, mine, "new", DAY - timedelta(minutes=1))
    _age(db, theirs, "new", 3 * DAY)
    assert forget_expired_idempotency_keys(db, ttl=DAY) == 2
    assert _remembered(db) == {(mine, "new", live.id), (theirs, "old", their_live.id)}
    assert forget_expired_idempotency_keys(db, ttl=DAY) == 0, "nothing left to forget"


def test_the_sweep_measures_age_from_now(db, tmp_path):
    acc = make_account(db, 5)
    _submit(db, tmp_path, acc, "order-1")
    assert forget_expired_idempotency_keys(db, ttl=DAY) == 0
    assert forget_expired_idempotency_keys(db, ttl=DAY, now=utcnow() + DAY) == 1


def test_the_sweep_drains_more_than_one_batch(db, tmp_path):
    acc = make_account(db, 10)
    for n in range(5):
        _submit(db, tmp_path, acc, f"order-{n}")
        _age(db, acc, f"order-{n}", 2 * DAY)
    assert forget_expired_idempotency_keys(db, ttl=DAY, batch=2) == 5
    assert _remembered(db) == set()
