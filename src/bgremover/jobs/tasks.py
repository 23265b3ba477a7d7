"""The queue's job functions, thin: Huey glue around the service's task run (``service/processing.py``).

``register_jobs(huey, settings)`` attaches them to a Huey instance (no import-time Huey). Everything a
job needs lives in a per-process :class:`WorkerContext`, built lazily so that forked worker processes
open their own database connections and load the models once each.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from bgremover.config import Settings
from bgremover.jobs.fetch_stage import FetchStage, StagedTaskQueue
from bgremover.service import lifecycle
from bgremover.service.cutouts import CutoutProducer, LocalPipeline, RoutedPipeline
from bgremover.service.fetch_stage import needs_fetch
from bgremover.service.models import ModelCatalog
from bgremover.service.processing import WorkerContext, run_task
from bgremover.service.results import expire_results
from bgremover.service.tasks import forget_expired_idempotency_keys, idempotency_ttl
from bgremover.store.database import Database
from bgremover.store.results import make_result_store

log = logging.getLogger(__name__)

PROCESS_TASK = "process_task"


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
        self.queue = StagedTaskQueue(huey, self.process_task, self.fetch,
                                     lambda task_id: needs_fetch(self.context().db, task_id))

    def context(self) -> WorkerContext:
        if self._ctx is None or self._pid != os.getpid():
            db = Database.from_settings(self.settings)
            self._ctx = WorkerContext(self.settings, db, make_result_store(self.settings, db), self.queue,
                                      producer(self.settings))
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


def producer(settings: Settings) -> CutoutProducer:
    """This process's producer: its own pipeline, behind the operator's routes when a providers file is set
    (one router per process: its breakers, caps and health are this process's)."""
    local = LocalPipeline(settings)
    if settings.providers is None:
        return local
    return RoutedPipeline.from_settings(settings, local, list(ModelCatalog(settings).catalog.presets))


def register_jobs(huey: Any, settings: Settings) -> Jobs:
    return Jobs(huey, settings)
