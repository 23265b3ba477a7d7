"""Credits: balance columns on the account, explained by an append-only ledger.

Every change of ``credits_available`` writes a ledger row with that delta in the same transaction, so the
ledger always sums to the available balance:

    grant   +N   an operator adds (or, negative, removes) credits
    reserve -c   a task was accepted: c moves from available to reserved
    charge   0   the task succeeded: its reservation is consumed (written for the audit trail)
    refund  +c   the task failed or was canceled: c moves back from reserved to available

Balances change only in single conditional UPDATEs (``... WHERE credits_available >= :c``), never by
reading a value into Python and writing it back, so concurrent requests cannot overdraw an account.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from bgremover.service.errors import AccountNotFound, InsufficientCredits, RateLimited, ValidationFailed
from bgremover.store.database import Database
from bgremover.store.tables import accounts, ledger_entries, utcnow


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    delta: int
    reason: str
    task_id: str | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class Balance:
    credits: int
    reserved: int
    ledger: list[LedgerEntry]


def _ledger(conn: Connection, account_id: int, delta: int, reason: str, task_id: str | None = None,
            note: str | None = None) -> None:
    conn.execute(insert(ledger_entries).values(account_id=account_id, delta=delta, reason=reason, task_id=task_id,
                                               note=note, created_at=utcnow()))


def grant(db: Database, *, account_id: int, amount: int, note: str | None = None) -> int:
    """Add ``amount`` (negative: remove, never below zero); returns the new available balance."""
    with db.write() as conn:
        return grant_in(conn, account_id=account_id, amount=amount, note=note)


def grant_in(conn: Connection, *, account_id: int, amount: int, note: str | None = None) -> int:
    """:func:`grant` inside the caller's transaction (a paid order grants in the transaction that pays it)."""
    if amount == 0:
        raise ValidationFailed("amount must not be 0")
    res = conn.execute(update(accounts).where(accounts.c.id == account_id,
                                              accounts.c.credits_available + amount >= 0)
                       .values(credits_available=accounts.c.credits_available + amount))
    if res.rowcount != 1:
        if conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first() is None:
            raise AccountNotFound(f"no account with id {account_id}")
        raise InsufficientCredits(f"cannot remove {-amount} credits: the balance would go negative")
    _ledger(conn, account_id, amount, "grant", note=note)
    return int(conn.execute(select(accounts.c.credits_available).where(accounts.c.id == account_id)).scalar_one())


def reserve(conn: Connection, *, account_id: int, task_id: str, amount: int, max_in_flight: int) -> None:
    """Inside the submitting transaction: hold ``amount`` and count one task in flight, or raise."""
    res = conn.execute(update(accounts).where(
        accounts.c.id == account_id, accounts.c.credits_available >= amount,
        accounts.c.tasks_in_flight < max_in_flight,
    ).values(credits_available=accounts.c.credits_available - amount,
             credits_reserved=accounts.c.credits_reserved + amount,
             tasks_in_flight=accounts.c.tasks_in_flight + 1))
    if res.rowcount == 1:
        _ledger(conn, account_id, -amount, "reserve", task_id)
        return
    row = conn.execute(select(accounts.c.credits_available, accounts.c.tasks_in_flight)
                       .where(accounts.c.id == account_id)).first()
    if row is None:
        raise AccountNotFound(f"no account with id {account_id}")
    if row.credits_available < amount:  # first: waiting for a slot would not help
        raise InsufficientCredits(f"this model costs {amount} credit(s); the balance is {row.credits_available}")
    raise RateLimited(f"{row.tasks_in_flight} tasks in flight for this account; the limit is {max_in_flight} "
                      "(BGREMOVER_MAX_TASKS_IN_FLIGHT): retry when one has finished", retry_after=2,
                      limit=max_in_flight, scope="tasks")


def settle(conn: Connection, *, account_id: int, task_id: str, amount: int, charged: bool) -> None:
    """Inside the transaction that moved the task to a final state (which happens once): charge or refund."""
    values = {"credits_reserved": accounts.c.credits_reserved - amount,
              "tasks_in_flight": accounts.c.tasks_in_flight - 1}
    if not charged:
        values["credits_available"] = accounts.c.credits_available + amount
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    _ledger(conn, account_id, 0 if charged else amount, "charge" if charged else "refund", task_id)


def balance(db: Database, *, account_id: int, limit: int = 20) -> Balance:
    with db.read() as conn:
        acc = conn.execute(select(accounts.c.credits_available, accounts.c.credits_reserved)
                           .where(accounts.c.id == account_id)).first()
        if acc is None:
            raise AccountNotFound(f"no account with id {account_id}")
        rows = conn.execute(select(ledger_entries).where(ledger_entries.c.account_id == account_id)
                            .order_by(ledger_entries.c.id.desc()).limit(limit)).all()
    return Balance(int(acc.credits_available), int(acc.credits_reserved),
                   [LedgerEntry(r.id, int(r.delta), r.reason, r.task_id, r.note, r.created_at) for r in rows])


def ledger_sum(db: Database, *, account_id: int) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(ledger_entries.c.delta), 0))
                                .where(ledger_entries.c.account_id == account_id)).scalar_one())
