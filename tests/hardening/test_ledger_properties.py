"""The ledger under random interleavings: whatever order grants, reservations, charges, refunds, cancels and
lost leases come in, the balance equals the ledger sum, never goes below zero, and each task is settled once.

Everything goes through the real service functions (``service.credits``, ``service.tasks``,
``service.lifecycle``) on a real migrated SQLite file, with the real Huey SQLite queue (nothing consumes it).
A plain Python model of the account predicts each outcome; the database must agree with it after every step.
"""
from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from bgremover.config import Settings, load_settings
from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import register_jobs
from bgremover.service import credits, lifecycle
from bgremover.service.accounts import create_account
from bgremover.service.errors import InsufficientCredits, RateLimited, TaskNotCancelable
from bgremover.service.lifecycle import Claim, ResultInfo
from bgremover.service.tasks import TaskRequest, cancel_task, get_task, submit_task
from bgremover.store.database import Database
from bgremover.store.migrate import upgrade
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import accounts, ledger_entries

MAX_IN_FLIGHT = 4
MAX_ATTEMPTS = 2


@dataclass
class World:
    """One migrated database, blob store and queue, shared by every generated example (each gets its own account)."""

    db: Database
    blobs: LocalResultStore
    queue: object
    settings: Settings
    dying: Settings  # claims made with it hold a lease that has already run out (a worker that died at once)


def make_world(root: Path) -> World:
    s = load_settings(data_dir=root / "data", max_tasks_in_flight=MAX_IN_FLIGHT, max_queue_depth=10**9,
                      task_max_attempts=MAX_ATTEMPTS, task_lease_s=600)
    s.data_dir.mkdir(parents=True)
    db = Database.from_settings(s)  # the database the queue's own look-ups open too (needs_fetch on a re-queue)
    upgrade(db.engine)
    queue = register_jobs(make_huey(s), s).queue
    return World(db, LocalResultStore(root / "blobs"), queue, s, s.model_copy(update={"task_lease_s": -5}))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = make_world(tmp_path_factory.mktemp("ledger"))
    yield w
    w.db.dispose()


def account_row(db: Database, account_id: int):
    with db.read() as conn:
        return conn.execute(select(accounts).where(accounts.c.id == account_id)).one()


def ledger_rows(db: Database, account_id: int) -> list:
    with db.read() as conn:
        return conn.execute(select(ledger_entries).where(ledger_entries.c.account_id == account_id)).all()


def check_books(db: Database, account_id: int) -> None:
    """The invariants every state must satisfy, read from the database alone."""
    acc = account_row(db, account_id)
    rows = ledger_rows(db, account_id)
    assert acc.credits_available == sum(r.delta for r in rows), "balance != ledger sum"
    assert acc.credits_available >= 0 and acc.credits_reserved >= 0 and acc.tasks_in_flight >= 0
    settled: dict[str, int] = {}
    for r in rows:
        if r.reason in ("charge", "refund"):
            settled[r.task_id] = settled.get(r.task_id, 0) + 1
    assert all(n == 1 for n in settled.values()), f"a task was settled twice: {settled}"
    reserves = {r.task_id for r in rows if r.reason == "reserve"}
    assert set(settled) <= reserves, "a settlement without its reservation"
    held = -sum(r.delta for r in rows if r.reason == "reserve" and r.task_id not in settled)
    assert acc.credits_reserved == held, "reserved != reservations not yet settled"
    assert acc.tasks_in_flight == len(reserves) - len(settled)


class LedgerMachine(RuleBasedStateMachine):
    """A model account (balance, tasks and their states) driven alongside the real one."""

    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.account_id = create_account(w.db, email=f"p{secrets.token_hex(6)}@example.com").id
        self.available = 0
        self.tasks: dict[str, dict] = {}  # id -> {"cost", "state", "claim", "attempts"}

    def _in(self, *states: str) -> list[str]:
        return [t for t, v in self.tasks.items() if v["state"] in states]

    @rule(amount=st.integers(-3, 6).filter(bool))
    def grant(self, amount: int) -> None:
        try:
            credits.grant(self.world.db, account_id=self.account_id, amount=amount)
            assert self.available + amount >= 0
            self.available += amount
        except InsufficientCredits:
            assert self.available + amount < 0

    @rule(cost=st.integers(1, 3))
    def reserve(self, cost: int) -> None:
        w = self.world
        in_flight = len(self._in("queued", "processing"))
        try:
            task, created = submit_task(w.db, w.blobs, w.queue, w.settings, account_id=self.account_id,
                                        request=TaskRequest(model="bg-remover-fast", input_data=b"x" * cost),
                                        credits_cost=cost)
        except RateLimited:
            assert in_flight >= MAX_IN_FLIGHT
            return
        except InsufficientCredits:  # when both limits hold, either answer is right: nothing was reserved
            assert self.available < cost
            return
        assert created and in_flight < MAX_IN_FLIGHT and self.available >= cost
        self.available -= cost
        self.tasks[task.id] = {"cost": cost, "state": "queued", "claim": None, "stale": [], "attempts": 0}

    @precondition(lambda self: self._in("queued"))
    @rule(data=st.data(), dies=st.booleans())
    def claim(self, data: st.DataObject, dies: bool) -> None:
        tid = data.draw(st.sampled_from(sorted(self._in("queued"))))
        w = self.world
        got = lifecycle.claim_task(w.db, w.dying if dies else w.settings, tid)
        assert got is not None
        t = self.tasks[tid]
        t.update(state="processing", claim=got, dies=dies, attempts=t["attempts"] + 1)

    def _finish(self, tid: str, charge: bool) -> None:
        t, w = self.tasks[tid], self.world
        claim: Claim = t["claim"]
        if charge:
            key = f"{tid}-{claim.token[:8]}.png"
            w.blobs.put(key, b"png")
            ok = lifecycle.complete_task(w.db, w.settings, claim, ResultInfo(key, "image/png", 1, 1, 3), 0.01)
        else:
            ok = lifecycle.fail_task(w.db, claim, "corrupt_image", "test")
        assert ok
        if not charge:
            self.available += t["cost"]
        t.update(state="succeeded" if charge else "failed", claim=None)

    @precondition(lambda self: self._in("processing"))
    @rule(data=st.data())
    def charge(self, data: st.DataObject) -> None:
        self._finish(data.draw(st.sampled_from(sorted(self._in("processing")))), charge=True)

    @precondition(lambda self: self._in("processing"))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        self._finish(data.draw(st.sampled_from(sorted(self._in("processing")))), charge=False)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.tasks)))
        t, w = self.tasks[tid], self.world
        try:
            cancel_task(w.db, w.blobs, task_id=tid, account_id=self.account_id)
        except TaskNotCancelable:
            assert t["state"] != "queued"
            return
        assert t["state"] == "queued"
        self.available += t["cost"]
        t.update(state="canceled")

    @rule()
    def reap(self) -> None:
        """Leases of claims made by a worker that died run out: re-queued, or failed and refunded at the limit."""
        w = self.world
        lifecycle.reap_expired_leases(w.db, w.settings, w.queue)
        for t in self.tasks.values():
            if t["state"] == "processing" and t.get("dies"):
                t["stale"].append(t["claim"])
                if t["attempts"] < MAX_ATTEMPTS:
                    t.update(state="queued", claim=None)
                else:
                    t.update(state="failed", claim=None)
                    self.available += t["cost"]

    @precondition(lambda self: any(t["stale"] for t in self.tasks.values()))
    @rule(data=st.data(), charge=st.booleans())
    def late_worker_finishes(self, data: st.DataObject, charge: bool) -> None:
        """A worker whose lease was reaped finishes anyway: it must change nothing."""
        tid = data.draw(st.sampled_from(sorted(t for t, v in self.tasks.items() if v["stale"])))
        claim = self.tasks[tid]["stale"][-1]
        w = self.world
        info = ResultInfo(f"{tid}-late.png", "image/png", 1, 1, 3)
        ok = (lifecycle.complete_task(w.db, w.settings, claim, info, 0.0) if charge
              else lifecycle.fail_task(w.db, claim, "internal_error", "late"))
        assert not ok

    @invariant()
    def books_balance(self) -> None:
        check_books(self.world.db, self.account_id)
        acc = account_row(self.world.db, self.account_id)
        assert acc.credits_available == self.available
        for tid, t in self.tasks.items():
            assert get_task(self.world.db, tid).status == t["state"]


def test_random_interleavings_keep_the_books(world: World) -> None:
    LedgerMachine.world = world
    run = settings(max_examples=15, stateful_step_count=30, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    LedgerMachine.TestCase.settings = run
    LedgerMachine.TestCase().runTest()


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seeds=st.lists(st.integers(0, 2**31), min_size=4, max_size=4), start=st.integers(0, 8))
def test_concurrent_interleavings_keep_the_books(world: World, seeds: list[int], start: int) -> None:
    """Four threads race reserve/claim/charge/refund/cancel/grant on one account; the books still balance."""
    w = world
    account_id = create_account(w.db, email=f"c{secrets.token_hex(6)}@example.com").id
    if start:
        credits.grant(w.db, account_id=account_id, amount=start)
    mine: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def actor(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(15):
                op = rng.choice(["reserve", "reserve", "claim", "finish", "cancel", "grant"])
                with lock:
                    ids = list(mine)
                if op == "reserve":
                    try:
                        task, _ = submit_task(w.db, w.blobs, w.queue, w.settings, account_id=account_id,
                                              request=TaskRequest(model="bg-remover-fast", input_data=b"y"),
                                              credits_cost=rng.randint(1, 2))
                        with lock:
                            mine.append(task.id)
                    except (InsufficientCredits, RateLimited):
                        pass
                elif op == "grant":
                    try:
                        credits.grant(w.db, account_id=account_id, amount=rng.choice([-2, 1, 3]))
                    except InsufficientCredits:
                        pass
                elif ids and op == "claim":
                    lifecycle.claim_task(w.db, w.settings, rng.choice(ids))
                elif ids and op == "cancel":
                    try:
                        cancel_task(w.db, w.blobs, task_id=rng.choice(ids), account_id=account_id)
                    except TaskNotCancelable:
                        pass
                elif ids and op == "finish":
                    # a second claimant on the same task gets None: only one worker can finish it
                    tid = rng.choice(ids)
                    claim = lifecycle.claim_task(w.db, w.settings, tid)
                    if claim is not None:
                        if rng.random() < 0.5:
                            lifecycle.complete_task(w.db, w.settings, claim,
                                                    ResultInfo(f"{tid}.png", "image/png", 1, 1, 1), 0.0)
                        else:
                            lifecycle.fail_task(w.db, claim, "corrupt_image", "race")
        except BaseException as exc:  # surfaced below with its traceback
            errors.append(exc)

    threads = [threading.Thread(target=actor, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]
    check_books(w.db, account_id)
