"""A scale-out deployment on one machine: ``bgremover db upgrade``, then API-only and worker processes.

Every process gets a data directory of its own, as if it ran on its own host: nothing is shared but
PostgreSQL (accounts, ledger, tasks, result bytes) and Redis (queue, rate-limit counters). A result
that a worker stored and another API process serves proves the shared result store.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bgremover.store.database import Database
from scaleout.services import PgSchema, RedisNamespace, require_services
from web.service_process import BIN, ServiceProcess

FAST = "bg-remover-fast"


def scaleout_env(data_dir: Path, schema: PgSchema, redis_ns: RedisNamespace, **overrides: str) -> dict[str, str]:
    """The settings of one process of the fleet (``data_dir`` only holds its own logs and temp files)."""
    env = {
        "BGREMOVER_DATA_DIR": str(data_dir),
        "BGREMOVER_DATABASE_URL": schema.url,
        "BGREMOVER_QUEUE_URL": redis_ns.url,
        "BGREMOVER_REDIS_KEY_PREFIX": redis_ns.prefix,
        "BGREMOVER_RESULT_STORE": "database",
        "BGREMOVER_SECRET_KEY": secrets.token_urlsafe(32),
        "BGREMOVER_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        "BGREMOVER_ONNX_THREADS": "1",
        "BGREMOVER_FETCH_MIN_BYTES_PER_S": "0",  # tests trickle a 1 KB photo over seconds to hold a task
        # Two fleets run at once (pytest -n 2) on a server of max_connections 100: 2 connections per process
        "BGREMOVER_DB_POOL_SIZE": "1", "BGREMOVER_DB_MAX_OVERFLOW": "1",
    }
    env.update(overrides)
    return env


def migrate(env: dict[str, str], cwd: Path) -> str:
    """``bgremover db upgrade`` as an operator runs it before starting the fleet; returns its output."""
    cwd.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(BIN), "db", "upgrade"], env={**os.environ, **env}, cwd=cwd, capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"bgremover db upgrade failed:\n{out.stderr[-3000:]}")
    return out.stdout


@dataclass
class WorkerProcess:
    """``bgremover worker --concurrency N`` with its own log file."""

    env: dict[str, str]
    root: Path
    concurrency: int = 1
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "worker.log"

    def start(self) -> WorkerProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(BIN), "worker", "--concurrency", str(self.concurrency)],
                                         env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.root)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def claimed(self, task_id: str) -> bool:
        return re.search(rf"task {task_id} claimed", self.log_text()) is not None  # plain or JSON lines

    def kill(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(10)  # type: ignore[union-attr]

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (graceful), SIGKILL after ``timeout``."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Cluster:
    """API-only processes and worker processes sharing one PostgreSQL schema and one Redis prefix."""

    root: Path
    schema: PgSchema
    redis_ns: RedisNamespace
    settings: dict[str, str] = field(default_factory=dict)
    apis: list[ServiceProcess] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        secret = secrets.token_urlsafe(32)  # one secret for the fleet: API keys and signed URLs work anywhere
        self.env = scaleout_env(self.root / "ops", self.schema, self.redis_ns, BGREMOVER_SECRET_KEY=secret,
                                **self.settings)
        self.migrate_output = migrate(self.env, self.root / "ops")
        self.db = Database.from_url(self.schema.url)

    def _env(self, data_dir: Path) -> dict[str, str]:
        return {**self.env, "BGREMOVER_DATA_DIR": str(data_dir)}

    def add_api(self) -> ServiceProcess:
        root = self.root / f"api{len(self.apis) + 1}"
        api = ServiceProcess(mode="scaleout", env=self._env(root / "data"), data_dir=root / "data",
                             log_path=root / "serve.log", args=["--api-only"]).start()
        self.apis.append(api)
        return api

    def add_worker(self, concurrency: int = 1) -> WorkerProcess:
        root = self.root / f"worker{len(self.workers) + 1}"
        worker = WorkerProcess(self._env(root / "data"), root, concurrency).start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        for api in self.apis:
            api.stop()
        self.db.dispose()

    def logs(self) -> str:
        return "\n".join([a.log_text() for a in self.apis] + [w.log_text() for w in self.workers])


def scaleout_service_env(root: Path, **overrides: str) -> tuple[dict[str, str], Callable[[], None]]:
    """For ``tests/web``'s "scaleout" mode: the environment of a ``bgremover serve`` on a PostgreSQL schema and
    a Redis prefix of its own (migrated by ``bgremover db upgrade``, as serve leaves that to the operator here),
    and the function that drops both afterwards."""
    require_services()
    schema, ns = PgSchema(), RedisNamespace()

    def cleanup() -> None:
        schema.drop()
        ns.cleanup()

    env = scaleout_env(root / "data", schema, ns, **overrides)
    try:
        migrate(env, root / "ops")
    except BaseException:
        cleanup()
        raise
    return env, cleanup
