"""The fetch stage's run of one claimed task: download its URL (SSRF-safe, bounded, drip-feeds cut off), store it
as the task's input and hand the task to the model queue; or fail it (refunded).

Huey's glue is ``jobs/fetch_stage.py``; the state machine and the per-account fair share are ``fetch_stage.py``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from bgremover.errors import BgRemoverError
from bgremover.fetching import fetch_image
from bgremover.service import fetch_stage, lifecycle
from bgremover.service.errors import disk_full_as_storage_full
from bgremover.service.processing import LeaseKeeper, WorkerContext

log = logging.getLogger(__name__)

STORAGE_FULL_MESSAGE = "the server has no space left to store the image; try again later"


def run_fetch(ctx: WorkerContext, claim: lifecycle.Claim, enqueue_model: Callable[[str], Any]) -> None:
    """Download the claimed task's URL, store it as its input and hand the task to the model queue; or fail it."""
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
