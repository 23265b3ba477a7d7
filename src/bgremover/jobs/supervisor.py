"""Keeps N worker processes alive for ``bgremover serve``: starts them, restarts one that dies, stops them all."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)


class WorkerSupervisor:
    """Each worker is its own OS process (``bgremover worker --concurrency 1``), so a crash takes down one task only."""

    def __init__(self, count: int, *, command: list[str] | None = None, check_interval: float = 0.5,
                 env: dict[str, str] | None = None) -> None:
        self.count = count
        self.env = env
        self.command = command or [sys.executable, "-m", "bgremover", "worker", "--concurrency", "1",
                                  "--parent-pid", str(os.getpid())]
        self.check_interval = check_interval
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="worker-supervisor")

    def start(self) -> None:
        for i in range(self.count):
            self._spawn(i)
        self._thread.start()

    def _spawn(self, i: int) -> None:
        # Own process group: the terminal's Ctrl-C reaches uvicorn only; we stop workers gracefully ourselves.
        self.procs[i] = subprocess.Popen(self.command, start_new_session=True, env=self.env)
        log.info("worker %d started (pid %d)", i + 1, self.procs[i].pid)  # type: ignore[union-attr]

    def _watch(self) -> None:
        backoff = [0.0] * self.count
        while not self._stopping.wait(self.check_interval):
            for i, proc in enumerate(self.procs):
                if proc is None or proc.poll() is None:
                    continue
                log.warning("worker %d (pid %d) exited with %s; restarting", i + 1, proc.pid, proc.returncode)
                if time.monotonic() < backoff[i]:
                    continue
                if self._stopping.is_set():
                    return
                self.restarts += 1
                backoff[i] = time.monotonic() + 1.0  # a worker failing at start-up is not restarted in a hot loop
                self._spawn(i)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p is not None]

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (graceful: finish the current task), then SIGKILL whatever is left after ``timeout``."""
        self._stopping.set()
        live = [p for p in self.procs if p is not None and p.poll() is None]
        for p in live:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in live:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %.0fs; killing it", p.pid, timeout)
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
