"""The run of one task on a worker: claim, keep the lease, load the input, produce the cut-out, store it, settle.

The queue glue (``jobs/tasks.py``) calls :func:`run_task` with a task id and nothing else; which producer makes
the cut-out is the context's ``producer`` (``service/cutouts.py``), and how the input arrives is
:func:`load_input` alone. Every outcome is recorded through ``service/lifecycle.py``, which charges or refunds
exactly once.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from bgremover.config import Settings
from bgremover.errors import BgRemoverError, ModelError, StorageFull
from bgremover.pipeline.remover import CutoutOptions
from bgremover.service import lifecycle
from bgremover.service.cutouts import (
    CutoutProducer,
    EncodedCutout,
    RoutedPipeline,
    failure_provenance,
)
from bgremover.service.errors import disk_full_as_storage_full
from bgremover.service.lifecycle import Claim, ResultInfo
from bgremover.service.provenance import PIN_OPTION, Provenance
from bgremover.service.tasks import TaskQueue
from bgremover.store.base import ResultStore
from bgremover.store.database import Database

log = logging.getLogger(__name__)

MODEL_ERROR_MESSAGE = "the model for this preset is not usable on this server right now; the operator has been told"
STORAGE_FULL_MESSAGE = "the server has no space left to store the result; try again later"


@dataclass
class WorkerContext:
    """What a worker process holds: its own database connections and store, the queue, the cut-out producer."""

    settings: Settings
    db: Database
    blobs: ResultStore
    queue: TaskQueue
    producer: CutoutProducer


class LeaseKeeper(threading.Thread):
    """Extends the task's lease while the producer works, so only a dead worker's lease runs out."""

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
    """The task's image: the stored upload or data: URI, or the URL fetched now (SSRF-safe, bounded)."""
    task = claim.task
    if task.input_key is not None:
        data = ctx.blobs.get(task.input_key)
        if data is None:
            raise BgRemoverError("the uploaded image is no longer stored")
        return data
    from bgremover.fetching import fetch_image

    if task.source_url is None:
        raise BgRemoverError("the task has neither a stored image nor a URL")
    return fetch_image(task.source_url, ctx.settings).data


def store_result(ctx: WorkerContext, claim: Claim, cut: EncodedCutout) -> ResultInfo:
    """Write the cut-out completely before the task turns succeeded; a full disk fails the task (refunded)."""
    task = claim.task
    key = f"{task.id}-{claim.token[:8]}.{task.output_format}"
    with disk_full_as_storage_full(STORAGE_FULL_MESSAGE):
        ctx.blobs.put(key, cut.data)
    return ResultInfo(key, cut.content_type, cut.width, cut.height, len(cut.data), cut.foreground_box)


def produce(ctx: WorkerContext, claim: Claim) -> tuple[ResultInfo, Provenance | None]:
    """Input, cut-out, stored result: the work between claim and settle; with providers, who served it."""
    task = claim.task
    options = dict(task.options)
    pin = options.pop(PIN_OPTION, None)
    opts = CutoutOptions(model=task.model, format=task.output_format, **options)
    data = load_input(ctx, claim)
    if isinstance(ctx.producer, RoutedPipeline):  # the validated result of whichever provider served it
        cut, provenance = ctx.producer.serve(data, opts, task_id=task.id, pin=pin)
        return store_result(ctx, claim, cut), provenance
    return store_result(ctx, claim, ctx.producer.produce(data, opts)), None


def run_task(ctx: WorkerContext, task_id: str) -> None:
    """Process one task id from the queue; a duplicate message, or a canceled or finished task, does nothing.

    Raises only when the database fails (claiming, or recording the outcome): the queue then retries the message.
    """
    claim = lifecycle.claim_task(ctx.db, ctx.settings, task_id)
    if claim is None:
        return  # canceled, already done, or claimed by another worker
    task, t0 = claim.task, time.monotonic()
    log.info("task %s claimed (attempt %d)", task.id, task.attempts, extra={"task_id": task.id})
    keeper = LeaseKeeper(ctx, claim)
    keeper.start()
    finished = False
    routed = isinstance(ctx.producer, RoutedPipeline)

    def fail(code: str, message: str, exc: BaseException) -> bool:
        provenance = failure_provenance(exc) if routed else None
        return lifecycle.fail_task(ctx.db, claim, code, message, time.monotonic() - t0, provenance)

    try:
        result, provenance = produce(ctx, claim)
        finished = lifecycle.complete_task(ctx.db, ctx.settings, claim, result, time.monotonic() - t0, provenance)
        if not finished:
            ctx.blobs.delete(result.key)
            log.warning("task %s: lease lost before completion; result discarded", task.id, extra={"task_id": task.id})
        else:
            log.info("task %s succeeded in %.2fs (%s)", task.id, time.monotonic() - t0, task.model,
                     extra={"task_id": task.id})
    except ModelError as exc:  # the operator's problem: the details (paths, checksums) go to the log only
        log.error("task %s: %s", task.id, exc.message, extra={"task_id": task.id})
        finished = fail(exc.code, MODEL_ERROR_MESSAGE, exc)
    except BgRemoverError as exc:
        finished = fail(exc.code, exc.message, exc)
        log.info("task %s failed: %s", task.id, exc.code, extra={"task_id": task.id})
    except Exception as exc:
        log.exception("task %s: unexpected error", task.id, extra={"task_id": task.id})
        finished = fail("internal_error", "the image could not be processed", exc)
    finally:
        keeper.stopped.set()
    if finished and task.input_key:
        try:
            ctx.blobs.delete(task.input_key)
        except StorageFull:  # the outcome is recorded and billed; a disk too full to delete is the operator's to fix
            log.warning("task %s: its upload %s was left in the store: no space to delete it", task.id,
                        task.input_key, extra={"task_id": task.id})
