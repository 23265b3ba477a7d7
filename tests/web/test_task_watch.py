"""TaskWatch: a request held until its task finishes is woken within a tick, and however many requests wait,
an API process asks the database one question per tick (and none when nobody waits)."""
from __future__ import annotations

import asyncio
import logging
import threading

from bgremover.service.completions import finished_among
from bgremover.service.tasks import cancel_task
from bgremover.store.results import LocalResultStore
from bgremover.web import task_watch
from bgremover.web.task_watch import TaskWatch
from service.helpers import make_account, submit


class Asked:
    """The real query, with a record of each question it was asked."""

    def __init__(self, db) -> None:
        self.db, self.questions = db, []

    def __call__(self, ids: list[str]) -> set[str]:
        self.questions.append(sorted(ids))
        return finished_among(self.db, ids)


def _cancel_later(db, tmp_path, acc: int, task_id: str, after: float) -> threading.Timer:
    timer = threading.Timer(after, cancel_task, (db, LocalResultStore(tmp_path / "blobs")),
                            {"task_id": task_id, "account_id": acc})
    timer.start()
    return timer


def test_a_task_that_finishes_wakes_its_request(db, tmp_path):
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc)
    watch = TaskWatch(Asked(db))
    _cancel_later(db, tmp_path, acc, task.id, 0.2)
    assert asyncio.run(watch.until_final(task.id, 30)) is True
    assert watch.waiting() == 0


def test_a_task_that_does_not_finish_runs_out_the_wait(db, tmp_path):
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc)
    asked = Asked(db)
    watch = TaskWatch(asked)
    assert asyncio.run(watch.until_final(task.id, 0.2)) is False
    assert asked.questions and all(q == [task.id] for q in asked.questions)
    assert asyncio.run(watch.until_final(task.id, 0)) is False  # no wait: no question either
    assert watch.waiting() == 0


def test_many_held_requests_share_one_question_per_tick_and_none_is_asked_after(db, tmp_path):
    acc = make_account(db, 20)
    ids = [submit(db, tmp_path, acc)[0].id for _ in range(12)]
    asked = Asked(db)
    watch = TaskWatch(asked)
    for n, task_id in enumerate(ids):
        _cancel_later(db, tmp_path, acc, task_id, 0.3 + 0.01 * n)

    async def hold_all() -> list[bool]:
        results = await asyncio.gather(*(watch.until_final(t, 30) for t in ids), watch.until_final(ids[0], 30))
        before = len(asked.questions)
        await asyncio.sleep(10 * watch.interval)  # nobody waits now: the poller has stopped
        assert len(asked.questions) == before
        return results

    assert asyncio.run(hold_all()) == [True] * 13
    assert max(len(q) for q in asked.questions) == 12  # every held task in one question
    assert all(len(set(q)) == len(q) for q in asked.questions)  # two requests on one task: asked once


def test_a_request_that_goes_away_stops_being_watched(db, tmp_path):
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc)
    watch = TaskWatch(Asked(db))

    async def go_away() -> int:
        held = asyncio.create_task(watch.until_final(task.id, 30))
        await asyncio.sleep(0.05)
        held.cancel()  # the client disconnected
        await asyncio.gather(held, return_exceptions=True)
        return watch.waiting()

    assert asyncio.run(go_away()) == 0


def test_a_failing_database_is_logged_and_asked_again(db, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(task_watch, "AFTER_FAILURE_S", 0.05)
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc)
    asked, failures = Asked(db), []

    def flaky(ids: list[str]) -> set[str]:
        if not failures:
            failures.append(ids)
            raise OSError("database is gone for a moment")
        return asked(ids)

    watch = TaskWatch(flaky)
    _cancel_later(db, tmp_path, acc, task.id, 0.2)
    with caplog.at_level(logging.ERROR, logger="bgremover.web.task_watch"):
        assert asyncio.run(watch.until_final(task.id, 30)) is True
    assert failures and "could not read which held tasks finished" in caplog.text


def test_with_a_commit_probe_the_query_runs_only_after_a_commit_yet_the_request_is_woken(db, tmp_path):
    probe = db.commit_probe()
    if probe is None:
        return  # PostgreSQL: no probe, every tick queries (the tests above)
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc)
    asked = Asked(db)
    watch = TaskWatch(asked, probe)
    _cancel_later(db, tmp_path, acc, task.id, 0.6)
    assert asyncio.run(watch.until_final(task.id, 30)) is True
    # about 60 ticks of 10 ms passed; the query ran on the first, on the backstop every FULL_CHECK_S, and after
    # the cancel's commit, not on every tick
    assert 2 <= len(asked.questions) <= 6


def test_a_task_that_finished_before_its_request_waits_is_answered_on_the_next_tick(db, tmp_path):
    probe = db.commit_probe()
    acc = make_account(db, 5)
    early, _ = submit(db, tmp_path, acc)
    other, _ = submit(db, tmp_path, acc)
    asked = Asked(db)
    watch = TaskWatch(asked, probe)

    async def late_waiter() -> bool:
        held = asyncio.create_task(watch.until_final(other.id, 30))  # keeps the poller running
        await asyncio.sleep(0.05)
        cancel_task(db, LocalResultStore(tmp_path / "blobs"), task_id=early.id, account_id=acc)
        await asyncio.sleep(0.05)  # the poller has queried since that commit: the probe sees nothing new now
        started = len(asked.questions)
        found = await watch.until_final(early.id, 0.3)  # well under the probe's FULL_CHECK_S backstop
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)
        return found and len(asked.questions) > started

    assert asyncio.run(late_waiter())
