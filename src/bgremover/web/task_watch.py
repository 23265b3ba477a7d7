"""One poller per API process for every request held open until its task finishes.

The task API's ``wait`` and the remove.bg route answer when the worker (another process) has finished. Each held
request polling the database on its own timer cost a median of half its timer in latency (and one query per
request per tick); here a single loop asks, every ``interval``, which of *all* the held tasks are final, in one
query, and wakes their requests. So a finished task is answered within about 10 ms, and the database sees at most
one query per tick per API process however many requests wait. When no request waits, no query is made.

A query costs the API process about 1.5 ms of CPU, which at 100 a second would take CPU from the worker beside it
on a small machine. On SQLite a probe that costs microseconds (``Database.commit_probe``: has anyone committed
since?) runs each tick, and the query only when it says so, or every ``FULL_CHECK_S`` whatever it says.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.01
AFTER_FAILURE_S = 1.0  # a database that failed is asked again after this long, not every tick
FULL_CHECK_S = 0.5  # the query runs at least this often, even when the probe saw no commit


class TaskWatch:
    """``await watch.until_final(task_id, timeout)``: True once the task is final, False when ``timeout`` passes.

    ``finished`` answers which of a list of task ids are final (``service.completions.finished_among``); it runs in
    the thread pool. ``probe``, if given, returns a number that changes when the database has a new commit.
    Waiters and the poller belong to one event loop; a request from another loop (a second test client) gets a
    poller of its own.
    """

    def __init__(self, finished: Callable[[list[str]], set[str]], probe: Callable[[], int] | None = None,
                 interval: float = WATCH_INTERVAL_S) -> None:
        self._finished, self._probe, self.interval = finished, probe, interval
        self._loops: dict[asyncio.AbstractEventLoop, _LoopWatch] = {}

    async def until_final(self, task_id: str, timeout: float) -> bool:
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        for old in [k for k in self._loops if k.is_closed()]:
            del self._loops[old]
        watch = self._loops.setdefault(loop, _LoopWatch(self))
        return await watch.until_final(task_id, timeout)

    def waiting(self) -> int:
        """Requests held open now, across loops (for tests and metrics)."""
        return sum(len(w.waiters) for w in self._loops.values())


class _LoopWatch:
    def __init__(self, owner: TaskWatch) -> None:
        self.owner = owner
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.poller: asyncio.Task[None] | None = None
        self.seen: tuple[int, float] | None = None  # the probe's last number, and when the query last ran

    async def until_final(self, task_id: str, timeout: float) -> bool:
        event = asyncio.Event()
        self.waiters.setdefault(task_id, set()).add(event)
        self.seen = None  # the next tick queries: this task may have finished before its request began to wait
        if self.poller is None or self.poller.done():
            self.poller = asyncio.get_running_loop().create_task(self._poll())
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            events = self.waiters.get(task_id, set())
            events.discard(event)
            if not events:
                self.waiters.pop(task_id, None)

    async def _poll(self) -> None:
        """Runs while anyone waits; the last waiter to leave ends it (a new one starts another)."""
        while self.waiters:
            await asyncio.sleep(self.owner.interval)
            ids = list(self.waiters)
            if not ids:
                break
            try:
                if self._nothing_committed():
                    continue
                done = await run_in_threadpool(self.owner._finished, ids)
            except Exception:  # the database failed: waiters run out on their own timeouts meanwhile
                self.seen = None
                log.exception("could not read which held tasks finished; retrying in %.0f s", AFTER_FAILURE_S)
                await asyncio.sleep(AFTER_FAILURE_S)
                continue
            for task_id in done:
                for event in self.waiters.get(task_id, ()):
                    event.set()

    def _nothing_committed(self) -> bool:
        """True when the probe has seen no commit since the last query, and that query is recent."""
        if self.owner._probe is None:
            return False
        version, now = self.owner._probe(), time.monotonic()
        if self.seen is not None and self.seen[0] == version and now - self.seen[1] < FULL_CHECK_S:
            return True
        self.seen = (version, now)
        return False
