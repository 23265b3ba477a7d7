"""The fetch stage on Huey: URL tasks are downloaded by threads beside the model, never by the model's worker.

A second named Huey queue (``bgremover-fetch``, in the same SQLite file or Redis) carries the task ids of URL
tasks. Each ``bgremover worker`` consumes it with ``fetch_threads`` threads of a Huey thread consumer in its
main process: fetching waits on the network and holds the GIL only briefly, so threads are enough, and
the model (its own Huey consumer) keeps inferring meanwhile. A fetched image is stored as the task's input
blob and the task goes back to the model queue (``service/fetch_stage.py`` has the state machine and the
per-account fair share).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huey.consumer import Consumer

from bgremover.config import Settings
from bgremover.jobs.queue import IDLE_POLL, HueyTaskQueue, make_huey
from bgremover.service import fetch_stage
from bgremover.service.fetch_run import run_fetch
from bgremover.service.processing import WorkerContext

log = logging.getLogger(__name__)

FETCH_INPUT = "fetch_input"
OVER_SHARE_RETRY_S = 1  # Huey's scheduler looks at deferred messages once a second


class FetchStage:
    """The ``fetch_input`` job on the fetch queue of one Huey storage."""

    def __init__(self, settings: Settings, context: Callable[[], WorkerContext], enqueue_model: Callable[[str], Any]):
        self.huey = make_huey(settings, stage="fetch")
        self.context, self.enqueue_model = context, enqueue_model
        # An exception escapes only when the database failed: retry for about a minute, as process_task does.
        self.fetch_input = self.huey.task(name=FETCH_INPUT, retries=20, retry_delay=3)(self._fetch_input)

    def enqueue(self, task_id: str) -> None:
        self.fetch_input(task_id)

    def _fetch_input(self, task_id: str) -> None:
        ctx = self.context()
        turn = fetch_stage.claim_fetch(ctx.db, ctx.settings, task_id)
        if turn.over_share:  # this account holds its share of fetches: others' tasks go first
            self.fetch_input.schedule(args=(task_id,), delay=OVER_SHARE_RETRY_S)
        elif turn.claim is not None:
            run_fetch(ctx, turn.claim, self.enqueue_model)

    def consumer(self, threads: int) -> ThreadConsumer:
        return ThreadConsumer(self.huey, workers=threads, worker_type="thread", periodic=False, **IDLE_POLL,
                              scheduler_interval=1)


class ThreadConsumer(Consumer):
    """A Huey consumer run beside another in one process (the fetch stage beside the model): it leaves the
    process's signals to the other."""

    def _set_signal_handlers(self) -> None:
        pass


class StagedTaskQueue(HueyTaskQueue):
    """``service.tasks.TaskQueue`` over both Huey queues: a URL not fetched yet goes to the fetch stage.

    Submissions and the reaper's re-queues both come through here, so a task re-queued after its fetcher
    died is fetched again, and one whose input is already stored goes straight to the model.
    """

    def __init__(self, huey: Any, process_task: Any, fetch: FetchStage, needs_fetch: Callable[[str], bool]) -> None:
        super().__init__(huey, process_task)
        self.fetch, self._needs_fetch = fetch, needs_fetch

    def enqueue(self, task_id: str) -> None:
        if self._needs_fetch(task_id):
            self.fetch.enqueue(task_id)
        else:
            super().enqueue(task_id)

    def pending(self) -> int:
        """Messages waiting: for the model, for a fetch, and fetches deferred by the fair share."""
        return super().pending() + int(self.fetch.huey.pending_count()) + int(self.fetch.huey.scheduled_count())
