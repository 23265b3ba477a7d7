"""Run the real service as a subprocess (``bgremover serve``) for API tests, and talk to its database directly.

A mode is a set of environment variables; "embedded" is SQLite + the Huey SQLite queue + result files.
Issue 5 adds "scaleout" (PostgreSQL + Redis) as another fixture param in ``tests/web/conftest.py``.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bgremover.service import credits
from bgremover.service.accounts import create_account
from bgremover.service.keys import create_key
from bgremover.store.database import Database

BIN = Path(sys.executable).parent / "bgremover"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Account:
    id: int
    email: str
    key: str
    key_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class ServiceProcess:
    mode: str
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    issued_keys: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secret(self) -> bytes:
        return self.env["BGREMOVER_SECRET_KEY"].encode()

    def start(self, timeout: float = 90) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BIN), "serve", "--port", str(self.port), *self.args],
                                     env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.data_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bgremover serve exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    self.db = Database.from_url(self.env["BGREMOVER_DATABASE_URL"])
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"bgremover serve did not answer in {timeout}s:\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "db"):
            self.db.dispose()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """Live worker pids, from the supervisor's log lines."""
        started = [int(p) for p in re.findall(r"worker \d+ started \(pid (\d+)\)", self.log_text())]
        alive = []
        for pid in started:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            alive.append(pid)
        return alive

    def new_account(self, credits_: int = 10, *, email: str | None = None) -> Account:
        email = email or f"user-{secrets.token_hex(4)}@example.com"
        acc = create_account(self.db, email=email)
        if credits_:
            credits.grant(self.db, account_id=acc.id, amount=credits_, note="test")
        info, key = create_key(self.db, self.secret, account_id=acc.id, name="test")
        self.issued_keys.append(key)
        return Account(acc.id, email, key, info.id)

    def client(self, account: Account | None = None, timeout: float = 70) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=account.headers if account else {}, timeout=timeout)


def embedded_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "BGREMOVER_DATA_DIR": str(data_dir),
        "BGREMOVER_DATABASE_URL": f"sqlite:///{data_dir / 'bgremover.db'}",
        "BGREMOVER_SECRET_KEY": secrets.token_urlsafe(32),
        "BGREMOVER_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        "BGREMOVER_ONNX_THREADS": "1",
    }
    env.update(overrides)
    return env


def poll_task(client: httpx.Client, task_id: str, timeout: float = 60, until: tuple[str, ...] = (
        "succeeded", "failed", "canceled")) -> dict:
    """GET the task until its status is in ``until``."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/tasks/{task_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        time.sleep(0.1)
