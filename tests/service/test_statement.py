"""The account statement: the ledger grouped to one line per task outcome (and one per grant), paged by a
cursor, and exported whole as CSV; the ledger under it is unchanged, so its invariants still hold."""
from __future__ import annotations

import csv
import io

from bgremover.service import credits, statement
from service.helpers import make_account


def _run_three_tasks(db, acc: int) -> None:
    with db.write() as conn:
        for task_id in ("t-charged", "t-refunded", "t-running"):
            credits.reserve(conn, account_id=acc, task_id=task_id, amount=1, max_in_flight=16)
    with db.write() as conn:
        credits.settle(conn, account_id=acc, task_id="t-charged", amount=1, charged=True)
        credits.settle(conn, account_id=acc, task_id="t-refunded", amount=1, charged=False)


def test_one_line_per_task_outcome_newest_first_summing_to_the_balance(db):
    acc = make_account(db, 5)
    _run_three_tasks(db, acc)
    page = statement.page(db, account_id=acc)
    assert [(e.reason, e.delta, e.task_id) for e in page.entries] == [
        ("refund", 0, "t-refunded"), ("charge", -1, "t-charged"), ("reserve", -1, "t-running"), ("grant", 5, None)]
    assert sum(e.delta for e in page.entries) == credits.balance(db, account_id=acc).credits == 3
    assert page.next_before is None
    assert credits.ledger_sum(db, account_id=acc) == 3  # the ledger itself keeps every row


def test_pages_follow_the_cursor_without_gaps_or_repeats(db):
    acc = make_account(db, 5)
    _run_three_tasks(db, acc)
    first = statement.page(db, account_id=acc, limit=3)
    assert len(first.entries) == 3 and first.next_before == first.entries[-1].id
    second = statement.page(db, account_id=acc, limit=3, before=first.next_before)
    assert [e.reason for e in second.entries] == ["grant"] and second.next_before is None
    assert statement.PAGE_SIZE == 20


def test_csv_export_has_every_line_oldest_first_with_a_running_balance(db):
    acc = make_account(db, 5)
    _run_three_tasks(db, acc)
    rows = list(csv.DictReader(io.StringIO("".join(statement.csv_lines(db, account_id=acc)))))
    assert [r["reason"] for r in rows] == ["grant", "reserve", "charge", "refund"]
    assert [r["balance_after"] for r in rows] == ["5", "4", "3", "3"]
    assert rows[0]["created_at"].endswith("Z") and set(rows[0]) == {
        "entry_id", "created_at", "reason", "delta", "balance_after", "task_id", "note"}
