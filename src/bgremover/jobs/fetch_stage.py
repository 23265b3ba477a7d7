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
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from huey.consumer import Consumer

from bgremover.config import Settings
from bgremover.errors import BgRemoverError
from bgremover.fetching import fetch_image
from bgremover.jobs.queue import HueyTaskQueue, make_huey
from bgremover.service import fetch_stage, lifecycle
from bgremover.service.errors import disk_full_as_storage_full
from bgremover.store.database import Database

if TYPE_CHECKING:
    from bgremover.jobs.tasks import WorkerContext

log = logging.getLogger(__name__)

FETCH_INPUT = "fetch_input"
OVER_SHARE_RETRY_S = 1  # Huey's scheduler looks at deferred messages once a second
STORAGE_FULL_MESSAGE = "the server has no space left to store the image; try again later"


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
        return ThreadConsumer(self.huey, workers=threads, worker_type="thread", periodic=False, initial_delay=0.05,
                             backoff=1.2, max_delay=0.5, scheduler_interval=1)


def run_fetch(ctx: WorkerContext, claim: lifecycle.Claim, enqueue_model: Callable[[str], Any]) -> None:
    """Download the claimed task's URL, store it as its input and hand the task to the model queue; or fail it."""
    # the model step's heartbeat, for fetches as long as the lease (imported here: jobs.tasks imports us)
    from bgremover.jobs.tasks import LeaseKeeper

    task, t0 = claim.task, time.monotonic()
    log.info("task %s claimed for fetching (attempt %d)", task.id, task.attempts, extra={"task_id": task.id})
    keeper = LeaseKeeper(ctx, claim)
    keeper.start()
    key = fetch_stage.input_key_for(claim)
    try:
        assert task.source_url is not None
        data = fetch_image(task.source_url, ctx.settings).data
        with disk_full_as_storage_full(STORAGE_FULL_MESSAGE):
            ctx.blobs.put(key, data)
        if not fetch_stage.hand_over(ctx.db, claim, key):
            ctx.blobs.delete(key)
            log.warning("task %s: lease lost while fetching; input discarded", task.id, extra={"task_id": task.id})
            return
        log.info("task %s fetched in %.2fs (%d bytes)", task.id, time.monotonic() - t0, len(data),
                 extra={"task_id": task.id})
    except BgRemoverError as exc:
        lifecycle.fail_task(ctx.db, claim, exc.code, exc.message, time.monotonic() - t0)
        log.info("task %s failed: %s", task.id, exc.code, extra={"task_id": task.id})
        return
    except Exception:
        log.exception("task %s: unexpected error while fetching", task.id, extra={"task_id": task.id})
        if lifecycle.fail_task(ctx.db, claim, "internal_error", "the image could not be fetched",
                               time.monotonic() - t0):
            ctx.blobs.delete(key)  # stored before the hand-over failed: nobody else will name it
        return
    finally:
        keeper.stopped.set()
    try:
        enqueue_model(task.id)
    except Exception:  # the task is queued with its input: the reaper re-enqueues stale queued tasks
        log.exception("enqueue failed for task %s; the reaper will retry", task.id, extra={"task_id": task.id})


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

    def __init__(self, huey: Any, process_task: Any, fetch: FetchStage, db: Callable[[], Database]) -> None:
        super().__init__(huey, process_task)
        self.fetch, self._db = fetch, db

    def enqueue(self, task_id: str) -> None:
        if fetch_stage.needs_fetch(self._db(), task_id):
            self.fetch.enqueue(task_id)
        else:
            super().enqueue(task_id)

    def pending(self) -> int:
        """Messages waiting: for the model, for a fetch, and fetches deferred by the fair share."""
        return super().pending() + int(self.fetch.huey.pending_count()) + int(self.fetch.huey.scheduled_count())
