"""The task queue: Huey on SQLite in the data dir (embedded) or on Redis (``BGREMOVER_QUEUE_URL=redis://…``).

The only module that imports huey. The queue carries task ids only; the database is the truth about tasks.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from bgremover.config import Settings

QUEUE_NAME = "bgremover"


def make_huey(settings: Settings, *, stage: str = "") -> Huey:
    """The model workers' queue; with ``stage`` (``"fetch"``), another named queue in the same storage."""
    url = settings.queue_url
    suffix = f"-{stage}" if stage else ""
    if url is None or url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if url else str((settings.data_dir / "queue.db").resolve())
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME + suffix, filename=path, results=False, utc=True, timeout=30)
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Keys are huey.redis.<prefix>…: one Redis can hold several deployments (and test runs) apart.
        return RedisHuey((settings.redis_key_prefix or QUEUE_NAME) + suffix, url=url, results=False, utc=True)
    raise ValueError(f"BGREMOVER_QUEUE_URL must be redis://… or sqlite:///…, not {url.split(':', 1)[0]}://…")


class HueyTaskQueue:
    """``service.tasks.TaskQueue`` over Huey: enqueues the registered ``process_task`` with a task id."""

    def __init__(self, huey: Huey, process_task: Any) -> None:
        self.huey = huey
        self._process = process_task

    def enqueue(self, task_id: str) -> None:
        self._process(task_id)  # calling a Huey task wrapper enqueues it

    def ping(self) -> None:
        self.huey.pending_count()

    def pending(self) -> int:
        return int(self.huey.pending_count())


class WorkerConsumer(Consumer):
    """Huey's consumer with a hook run once its worker processes are forked (so our threads are not forked),
    and one run when it begins to stop (so the fetch stage takes no new task either)."""

    on_started: Callable[[], None] | None = None
    on_stopping: Callable[[], None] | None = None

    def start(self) -> None:
        super().start()
        if self.on_started is not None:
            self.on_started()

    def stop(self, graceful: bool = False) -> None:
        if self.on_stopping is not None:
            self.on_stopping()
        super().stop(graceful)


# How an idle consumer (model worker or fetch stage) polls the queue: 10 ms after its last task, then 1.2x later
# each time, up to every 0.5 s. Clients sending one photo after another find it still looking often, where a
# 50 ms first pause added about that much to each answer (README, "Speed and memory", the HTTP service).
IDLE_POLL: dict[str, float] = {"initial_delay": 0.01, "backoff": 1.2, "max_delay": 0.5}


def make_consumer(huey: Huey, *, workers: int) -> WorkerConsumer:
    """A consumer whose SIGTERM is graceful (finish the current task, take no new one), as systemd expects.

    Periodic work (reaper, result expiry) runs in ``jobs/worker.py`` at a sub-minute interval instead of
    Huey's minute-granular scheduler, so short leases are noticed quickly. Idle, it polls as ``IDLE_POLL`` says.
    """
    return WorkerConsumer(huey, workers=workers, worker_type="process" if workers > 1 else "thread", periodic=False,
                    **IDLE_POLL, graceful_signal="TERM",
                    check_worker_health=True, health_check_interval=5)
