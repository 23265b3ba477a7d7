"""Credits: the ledger explains the balance, and concurrent reservations never overdraw it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bgremover.service import credits
from bgremover.service.errors import InsufficientCredits, RateLimited
from service.helpers import make_account, submit, settings_for


def test_grant_and_ledger(db):
    acc = make_account(db, 0)
    assert credits.grant(db, account_id=acc, amount=7, note="welcome") == 7
    assert credits.grant(db, account_id=acc, amount=-2) == 5
    with pytest.raises(InsufficientCredits):
        credits.grant(db, account_id=acc, amount=-6)
    bal = credits.balance(db, account_id=acc)
    assert (bal.credits, bal.reserved) == (5, 0)
    assert [(e.delta, e.reason) for e in bal.ledger] == [(-2, "grant"), (7, "grant")]
    assert credits.ledger_sum(db, account_id=acc) == 5


def test_thirty_concurrent_reservations_against_ten_credits(db, tmp_path):
    acc = make_account(db, 10)
    settings = settings_for(tmp_path, max_tasks_in_flight=100)

    def attempt(_: int) -> str:
        try:
            submit(db, tmp_path, acc, settings=settings)
            return "ok"
        except InsufficientCredits:
            return "402"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count("ok") == 10 and outcomes.count("402") == 20
    bal = credits.balance(db, account_id=acc)
    assert (bal.credits, bal.reserved) == (0, 10)
    assert credits.ledger_sum(db, account_id=acc) == 0


def test_tasks_in_flight_limit_is_part_of_the_same_statement(db, tmp_path):
    acc = make_account(db, 10)
    settings = settings_for(tmp_path, max_tasks_in_flight=3)
    for _ in range(3):
        submit(db, tmp_path, acc, settings=settings)
    with pytest.raises(RateLimited) as exc:
        submit(db, tmp_path, acc, settings=settings)
    assert exc.value.scope == "tasks"
    assert credits.balance(db, account_id=acc).credits == 7


def test_the_database_itself_refuses_a_negative_balance(db):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from bgremover.store.tables import accounts

    acc = make_account(db, 1)
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute(update(accounts).where(accounts.c.id == acc).values(credits_available=-1))
    assert credits.balance(db, account_id=acc).credits == 1
