"""One finish for every path to a final state: the state and the credits move together, once."""
from __future__ import annotations

import pytest

from bgremover.service import credits
from bgremover.service.outcomes import CANCELED, FAILED, QUEUED, STATUSES, SUCCEEDED, finish_task
from bgremover.service.task_stats import task_figures
from bgremover.service.tasks import get_task
from bgremover.store.tables import tasks
from service.helpers import make_account, submit


def _finish(db, task, status, **values) -> bool:
    with db.write() as conn:
        return finish_task(conn, task_id=task.id, account_id=task.account_id, reserved=task.credits_reserved,
                           status=status, where=(tasks.c.status == QUEUED,), **values)


@pytest.mark.parametrize("status,charged", [(SUCCEEDED, 2), (FAILED, 0), (CANCELED, 0)])
def test_the_first_finish_settles_and_any_later_one_changes_nothing(db, tmp_path, status, charged):
    acc = make_account(db, 5)
    task, _ = submit(db, tmp_path, acc, cost=2)
    assert _finish(db, task, status, error_code="x" if status == FAILED else None)
    assert not _finish(db, task, FAILED), "a second finish must not match"
    done = get_task(db, task.id)
    assert (done.status, done.credits_charged) == (status, charged) and done.finished_at is not None
    bal = credits.balance(db, account_id=acc)
    assert (bal.credits, bal.reserved) == (5 - charged, 0)


def test_only_a_final_state_finishes(db, tmp_path):
    task, _ = submit(db, tmp_path, make_account(db, 1))
    with pytest.raises(ValueError):
        _finish(db, task, QUEUED)


def test_task_figures_count_every_status_and_failures_by_code(db, tmp_path):
    acc = make_account(db, 10)
    made = [submit(db, tmp_path, acc)[0] for _ in range(4)]
    _finish(db, made[0], SUCCEEDED)
    _finish(db, made[1], FAILED, error_code="corrupt_image")
    _finish(db, made[2], CANCELED)
    figures = task_figures(db)
    assert figures.by_status == {s: n for s, n in zip(STATUSES, (1, 0, 1, 1, 1))}
    assert figures.failures == {"corrupt_image": 1}
    assert len(figures.latencies_s) == 1 and figures.latencies_s[0] >= 0
