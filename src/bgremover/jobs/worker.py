"""A worker process: a Huey consumer with N workers (processes when N > 1), the fetch stage's threads
(``jobs/fetch_stage.py``) and the periodic maintenance loop.

SIGTERM and SIGINT are graceful: the current task finishes, no new one is taken. Models load once per
worker process, on its first task.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from bgremover.config import Settings
from bgremover.jobs.queue import make_consumer, make_huey
from bgremover.jobs.tasks import Jobs, producer, register_jobs

log = logging.getLogger(__name__)


def maintenance_interval(settings: Settings) -> float:
    """Often enough to notice a lost lease soon after it runs out; at most every 30 s."""
    return min(30.0, max(0.5, settings.task_lease_s / 3))


class MaintenanceLoop(threading.Thread):
    """Periodic work, and (under ``serve``) a graceful exit when the supervising process is gone."""

    def __init__(self, jobs: Jobs, interval: float, parent_pid: int | None = None) -> None:
        super().__init__(daemon=True, name="maintenance")
        self.jobs, self.interval, self.parent_pid, self.stopped = jobs, interval, parent_pid, threading.Event()

    def run(self) -> None:
        next_run = time.monotonic() + self.interval
        while not self.stopped.wait(0.5):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                log.warning("the supervising process %d is gone; stopping", self.parent_pid)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            if time.monotonic() < next_run:
                continue
            next_run = time.monotonic() + self.interval
            try:
                self.jobs.maintenance()
            except Exception:
                log.exception("maintenance failed; will retry")


def run_worker(settings: Settings, *, concurrency: int = 1, parent_pid: int | None = None) -> None:
    if settings.providers is not None:
        producer(settings)  # a mistake in the providers file stops the worker now, not its first task
    huey = make_huey(settings)
    jobs = register_jobs(huey, settings)
    consumer = make_consumer(huey, workers=max(1, concurrency))
    fetchers = jobs.fetch.consumer(settings.fetch_threads) if settings.fetch_threads > 0 else None
    loop = MaintenanceLoop(jobs, maintenance_interval(settings), parent_pid)
    log.info("worker starting: %d worker(s), %d fetch thread(s), queue %s", concurrency, settings.fetch_threads,
             type(huey).__name__)

    def started() -> None:  # after the worker processes are forked: our threads stay in this process
        loop.start()
        if fetchers is not None:
            fetchers.start()

    consumer.on_started = started
    if fetchers is not None:
        consumer.on_stopping = fetchers.stop_flag.set  # no new fetch once SIGTERM arrived
    try:
        consumer.run()
    finally:
        if fetchers is not None:  # finish the fetches in hand: each hands its task over, or fails it
            fetchers.stop(graceful=True)
        loop.stopped.set()
        log.info("worker stopped")
