"""The fetch stage's side of the task state machine: a URL task is downloaded before any model worker sees it.

    queued (URL, no input) ──claim_fetch──▶ processing (fetching, leased)
        ──hand_over──▶ queued (input stored)  ──claim_task──▶ processing (model) ──▶ succeeded / failed
        └─fail_task──▶ failed (refunded)       (lease ran out: the reaper re-queues it for another fetch)

A fetch holds a lease like a model step, so a fetch stage that dies is re-queued or failed by the same
reaper, charged once or refunded. Fair share: one account holds at most ``fetch_per_account`` fetches at a
time over all workers; its other URL tasks wait (still queued) while other accounts' fetches go ahead.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, and_, func, select, update

from bgremover.config import Settings
from bgremover.service.lifecycle import Claim
from bgremover.service.tasks import PROCESSING, QUEUED, get_task
from bgremover.store.database import Database
from bgremover.store.tables import accounts, tasks, utcnow

_FETCHING = and_(tasks.c.status == PROCESSING, tasks.c.input_key.is_(None), tasks.c.source_url.isnot(None))


@dataclass(frozen=True)
class FetchTurn:
    """What ``claim_fetch`` decided: a claim to fetch, or why not (``over_share``: try again a moment later)."""

    claim: Claim | None = None
    over_share: bool = False


def needs_fetch(db: Database, task_id: str) -> bool:
    """A queued task whose input is a URL not downloaded yet (the fetch stage's work, not a model worker's)."""
    with db.read() as conn:
        row = conn.execute(select(tasks.c.status, tasks.c.source_url, tasks.c.input_key)
                           .where(tasks.c.id == task_id)).first()
    return row is not None and row.status == QUEUED and row.source_url is not None and row.input_key is None


def fetches_in_flight(conn: Connection, account_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(tasks)
                            .where(tasks.c.account_id == account_id, _FETCHING)).scalar_one())


def claim_fetch(db: Database, settings: Settings, task_id: str) -> FetchTurn:
    """Lease a queued URL task for fetching, unless its account already holds its share of fetches."""
    with db.read() as conn:  # a deferred task is looked at every second: without taking the write lock
        row = conn.execute(select(tasks.c.account_id, tasks.c.status).where(tasks.c.id == task_id)).first()
        if row is None or row.status != QUEUED:
            return FetchTurn()
        if fetches_in_flight(conn, row.account_id) >= settings.fetch_per_account:
            return FetchTurn(over_share=True)
    account_id = row.account_id
    token, now = secrets.token_hex(16), utcnow()
    with db.write() as conn:
        # the account row lock serialises one account's claims on PostgreSQL (SQLite serialises every write)
        conn.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
        if fetches_in_flight(conn, account_id) >= settings.fetch_per_account:
            queued = conn.execute(select(tasks.c.id).where(tasks.c.id == task_id, tasks.c.status == QUEUED)).first()
            return FetchTurn(over_share=queued is not None)
        res = conn.execute(update(tasks).where(
            tasks.c.id == task_id, tasks.c.status == QUEUED, tasks.c.source_url.isnot(None),
            tasks.c.input_key.is_(None)).values(
            status=PROCESSING, attempts=tasks.c.attempts + 1, lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.task_lease_s),
            started_at=func.coalesce(tasks.c.started_at, now)))
        if res.rowcount != 1:
            return FetchTurn()  # canceled, done, already fetched, or taken by another fetcher
    return FetchTurn(claim=Claim(get_task(db, task_id), token))


def input_key_for(claim: Claim) -> str:
    """Where the fetched bytes go: a name per lease, so a fetcher that lost its lease never touches the winner's."""
    return f"{claim.task.id}-{claim.token[:8]}.in"


def hand_over(db: Database, claim: Claim, input_key: str) -> bool:
    """processing (fetched) → queued with its input stored, for a model worker; False if the lease was lost.

    The completed fetch gives its attempt back: ``attempts`` counts runs that died or were lost, and a task's
    model step gets the same number of tries whether its image came as a URL or as an upload.
    """
    with db.write() as conn:
        res = conn.execute(update(tasks).where(tasks.c.id == claim.task.id, tasks.c.status == PROCESSING,
                                               tasks.c.lease_token == claim.token).values(
            status=QUEUED, input_key=input_key, lease_token=None, lease_expires_at=None,
            attempts=tasks.c.attempts - 1, queued_at=utcnow()))
        return res.rowcount == 1
