"""The account statement: the ledger read as one line per task outcome, plus one per grant.

The ledger keeps every row (a task writes ``reserve -c`` and then ``charge 0`` or ``refund +c``, so that it
always sums to the available balance); people and accountants want one line per task. A line groups a
task's rows: its ``delta`` is their sum (``-c`` charged, ``0`` refunded, ``-c`` while still running) and its
``reason`` the outcome (``charge``, ``refund``, or ``reserve`` while running). Lines are ordered by their
newest row's id, which is also the page cursor (``before``), so the API and the billing page page alike.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Select, case, cast, func, select

from bgremover.store.database import Database
from bgremover.store.tables import ledger_entries

PAGE_SIZE = 20  # GET /billing/credits and /dashboard/billing alike
MAX_PAGE_SIZE = 100
CSV_COLUMNS = ["entry_id", "created_at", "reason", "delta", "balance_after", "task_id", "note"]
_OUTCOMES = {2: "charge", 1: "refund", 0: "reserve"}


@dataclass(frozen=True)
class StatementLine:
    id: int  # the newest ledger row's id: the cursor
    delta: int
    reason: str  # grant | charge | refund | reserve (still running)
    task_id: str | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class StatementPage:
    entries: list[StatementLine]
    next_before: int | None  # pass as ``before`` for the next (older) page; None: this is the last


def _lines(account_id: int) -> Select[Any]:
    le = ledger_entries.c
    rank = func.max(case((le.reason == "charge", 2), (le.reason == "refund", 1), else_=0))
    return (select(func.max(le.id).label("id"), func.sum(le.delta).label("delta"), rank.label("outcome"),
                   func.min(le.reason).label("reason"), func.min(le.task_id).label("task_id"),
                   func.min(le.note).label("note"), func.max(le.created_at).label("created_at"))
            .where(le.account_id == account_id)
            .group_by(func.coalesce(le.task_id, cast(le.id, String))))


def _line(row: object) -> StatementLine:
    reason = _OUTCOMES[int(row.outcome)] if row.task_id else row.reason  # type: ignore[attr-defined]
    return StatementLine(int(row.id), int(row.delta), reason, row.task_id, row.note,  # type: ignore[attr-defined]
                         row.created_at)  # type: ignore[attr-defined]


def page(db: Database, *, account_id: int, limit: int = PAGE_SIZE, before: int | None = None) -> StatementPage:
    """Up to ``limit`` lines older than the cursor ``before`` (None: the newest), newest first."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _lines(account_id)
    if before is not None:
        query = query.having(func.max(ledger_entries.c.id) < before)
    with db.read() as conn:
        rows = conn.execute(query.order_by(func.max(ledger_entries.c.id).desc()).limit(limit + 1)).all()
    lines = [_line(r) for r in rows[:limit]]
    return StatementPage(lines, lines[-1].id if len(rows) > limit else None)


def csv_lines(db: Database, *, account_id: int) -> Iterator[str]:
    """The whole statement as CSV text, oldest first, with the available balance after each line."""
    with db.read() as conn:
        rows = conn.execute(_lines(account_id).order_by(func.max(ledger_entries.c.id))).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    balance = 0
    for line in map(_line, rows):
        balance += line.delta
        writer.writerow([line.id, _utc_iso(line.created_at), line.reason, line.delta, balance, line.task_id or "",
                         line.note or ""])
    yield out.getvalue()


def _utc_iso(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
