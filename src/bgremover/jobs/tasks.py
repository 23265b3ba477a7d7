"""The queue's job functions, thin: each claims, calls the service and the engine, and records the outcome.

``register_jobs(huey, settings)`` attaches them to a Huey instance (no import-time Huey). Everything a
job needs lives in a per-process :class:`WorkerContext`, built lazily so that forked worker processes
open their own database connections and load the models once each.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bgremover.config import Settings
from bgremover.errors import BgRemoverError, ModelError
from bgremover.jobs.fetch_stage import FetchStage, StagedTaskQueue
from bgremover.jobs.queue import HueyTaskQueue
from bgremover.pipeline.remover import CutoutOptions, Remover
from bgremover.service import lifecycle
from bgremover.service.errors import disk_full_as_storage_full
from bgremover.service.fetch_stage import needs_fetch
from bgremover.service.lifecycle import Claim, ResultInfo
from bgremover.service.results import expire_results
from bgremover.service.tasks import forget_expired_idempotency_keys, idempotency_ttl
from bgremover.store.base import ResultStore
from bgremover.store.database import Database
from bgremover.store.results import make_result_store

log = logging.getLogger(__name__)

PROCESS_TASK = "process_task"
MODEL_ERROR_MESSAGE = "the model for this preset is not usable on this server right now; the operator has been told"
STORAGE_FULL_MESSAGE = "the server has no space left to store the result; try again later"


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    blobs: ResultStore
    queue: HueyTaskQueue
    _remover: Remover | None = field(default=None, repr=False)

    @property
    def remover(self) -> Remover:
        if self._remover is None:  # one Remover (and so one copy of each model) per process
            self._remover = Remover(self.settings)
        return self._remover


class Jobs:
    """The job functions registered on one Huey instance, and the per-process context they share."""

    def __init__(self, huey: Any, settings: Settings) -> None:
        self.huey, self.settings = huey, settings
        self._ctx: WorkerContext | None = None
        self._pid = -1
        # An exception escapes run_task only when the database failed (claiming, or recording the outcome):
        # retry the message for about a minute instead of leaving the task queued until the reaper's sweep.
        self.process_task = huey.task(name=PROCESS_TASK, retries=20, retry_delay=3)(self._process_task)
        # URL tasks are downloaded by the fetch stage (jobs/fetch_stage.py) and come back here with their input
        self.fetch = FetchStage(settings, self.context, self.process_task)
        self.queue = StagedTaskQueue(huey, self.process_task, self.fetch, lambda: self.context().db)

    def context(self) -> WorkerContext:
        if self._ctx is None or self._pid != os.getpid():
            db = Database.from_settings(self.settings)
            self._ctx = WorkerContext(self.settings, db, make_result_store(self.settings, db), self.queue)
            self._pid = os.getpid()
        return self._ctx

    def _process_task(self, task_id: str) -> None:
        ctx = self.context()
        if needs_fetch(ctx.db, task_id):  # the model never waits on the network: hand it to the fetch stage
            self.fetch.enqueue(task_id)
            return
        run_task(ctx, task_id)

    def maintenance(self) -> None:
        """Periodic work: re-queue tasks of dead workers, delete expired results, expired idempotency keys and
        killed writers' partial files."""
        ctx = self.context()
        lifecycle.reap_expired_leases(ctx.db, ctx.settings, ctx.queue)
        expire_results(ctx.db, ctx.blobs)
        forget_expired_idempotency_keys(ctx.db, ttl=idempotency_ttl(ctx.settings))
        if swept := ctx.blobs.sweep_partial_writes():
            log.info("deleted %d partial result file(s) left by killed writers", swept)


def register_jobs(huey: Any, settings: Settings) -> Jobs:
    return Jobs(huey, settings)


class LeaseKeeper(threading.Thread):
    """Extends the task's lease while the engine works, so only a dead worker's lease runs out."""

    def __init__(self, ctx: WorkerContext, claim: Claim) -> None:
        super().__init__(daemon=True, name=f"lease-{claim.task.id[:8]}")
        self.ctx, self.claim, self.stopped = ctx, claim, threading.Event()

    def run(self) -> None:
        interval = max(0.5, self.ctx.settings.task_lease_s / 3)
        while not self.stopped.wait(interval):
            try:
                if not lifecycle.extend_lease(self.ctx.db, self.ctx.settings, self.claim):
                    return
            except Exception:  # a transient database error: the next beat may succeed
                log.warning("could not extend the lease of task %s", self.claim.task.id, exc_info=True)


def load_input(ctx: WorkerContext, claim: Claim) -> bytes:
    task = claim.task
    if task.input_key is not None:
        data = ctx.blobs.get(task.input_key)
        if data is None:
            raise BgRemoverError("the uploaded image is no longer stored")
        return data
    from bgremover.fetching import fetch_image

    assert task.source_url is not None
    return fetch_image(task.source_url, ctx.settings).data


def run_task(ctx: WorkerContext, task_id: str) -> None:
    claim = lifecycle.claim_task(ctx.db, ctx.settings, task_id)
    if claim is None:
        return  # canceled, already done, or claimed by another worker
    task, t0 = claim.task, time.monotonic()
    log.info("task %s claimed (attempt %d)", task.id, task.attempts, extra={"task_id": task.id})
    keeper = LeaseKeeper(ctx, claim)
    keeper.start()
    finished = False
    try:
        data = load_input(ctx, claim)
        opts = CutoutOptions(model=task.model, format=task.output_format, **task.options)
        cut = ctx.remover.remove(data, opts)
        key = f"{task.id}-{claim.token[:8]}.{task.output_format}"
        # complete before the task turns succeeded; a full disk fails the task (refunded), it is not retried
        with disk_full_as_storage_full(STORAGE_FULL_MESSAGE):
            ctx.blobs.put(key, cut.data)
        info = ResultInfo(key, cut.content_type, cut.width, cut.height, len(cut.data))
        finished = lifecycle.complete_task(ctx.db, ctx.settings, claim, info, time.monotonic() - t0)
        if not finished:
            ctx.blobs.delete(key)
            log.warning("task %s: lease lost before completion; result discarded", task.id, extra={"task_id": task.id})
        else:
            log.info("task %s succeeded in %.2fs (%s)", task.id, time.monotonic() - t0, task.model,
                     extra={"task_id": task.id})
    except ModelError as exc:  # the operator's problem: the details (paths, checksums) go to the log only
        log.error("task %s: %s", task.id, exc.message, extra={"task_id": task.id})
        finished = lifecycle.fail_task(ctx.db, claim, exc.code, MODEL_ERROR_MESSAGE, time.monotonic() - t0)
    except BgRemoverError as exc:
        finished = lifecycle.fail_task(ctx.db, claim, exc.code, exc.message, time.monotonic() - t0)
        log.info("task %s failed: %s", task.id, exc.code, extra={"task_id": task.id})
    except Exception:
        log.exception("task %s: unexpected error", task.id, extra={"task_id": task.id})
        finished = lifecycle.fail_task(ctx.db, claim, "internal_error", "the image could not be processed",
                                       time.monotonic() - t0)
    finally:
        keeper.stopped.set()
    if finished and task.input_key:
        ctx.blobs.delete(task.input_key)
