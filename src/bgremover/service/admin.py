"""What an administrator reads across accounts: every account with its balances, every task."""
from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import func, select

from bgremover.service.accounts import Account, _account
from bgremover.service.tasks import TaskRecord, record
from bgremover.store.database import Database
from bgremover.store.tables import accounts, api_keys, tasks


@dataclass(frozen=True)
class AccountRow:
    account: Account
    live_keys: int
    tasks: int


def list_accounts(db: Database, *, limit: int = 200) -> list[AccountRow]:
    live = (select(api_keys.c.account_id, func.count().label("n")).where(api_keys.c.revoked_at.is_(None))
            .group_by(api_keys.c.account_id).subquery())
    done = select(tasks.c.account_id, func.count().label("n")).group_by(tasks.c.account_id).subquery()
    with db.read() as conn:
        rows = conn.execute(select(accounts, func.coalesce(live.c.n, 0).label("live_keys"),
                                   func.coalesce(done.c.n, 0).label("task_count"))
                            .outerjoin(live, live.c.account_id == accounts.c.id)
                            .outerjoin(done, done.c.account_id == accounts.c.id)
                            .order_by(accounts.c.id).limit(limit)).all()
    return [AccountRow(_account(r), int(r.live_keys), int(r.task_count)) for r in rows]


def list_all_tasks(db: Database, *, limit: int = 100) -> list[tuple[TaskRecord, str]]:
    """The newest tasks of every account, each with its owner's email."""
    with db.read() as conn:
        rows = conn.execute(select(tasks, accounts.c.email.label("owner_email"))
                            .join(accounts, accounts.c.id == tasks.c.account_id)
                            .order_by(tasks.c.created_at.desc(), tasks.c.id).limit(limit)).all()
    return [(record(r), r.owner_email) for r in rows]

