"""Throughput of a running HTTP service at a given concurrency: ours through its API, rembg's ``rembg s``.

A service is measured from the outside, as a user's client sees it: ``concurrency`` threads each
send requests back to back (bytes in, cut-out bytes out, polling included for our task API) until
``requests`` have finished. Throughput is finished images per wall-clock second; latency is per
request. ``RembgServer`` starts ``rembg s`` on a free loopback port from its venv, on our weights,
and reports its peak RSS, which is where concurrency costs memory.
"""
from __future__ import annotations

import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bgremover.benchmark.measure import BenchmarkFailed
from bgremover.benchmark.process_memory import process_peak_rss

Submit = Callable[[bytes], bytes]


@dataclass
class ServiceResult:
    service: str
    concurrency: int
    requests: int
    wall_s: float
    latencies: list[float]
    errors: int
    peak_rss_bytes: int | None = None

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.wall_s

    @property
    def latency_median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "concurrency": self.concurrency, "requests": self.requests,
                "errors": self.errors, "wall_s": self.wall_s, "images_per_s": self.throughput,
                "latency_median_s": self.latency_median, "latencies_s": self.latencies,
                "peak_rss_mb": None if self.peak_rss_bytes is None else self.peak_rss_bytes / 2**20}


def measure_service(name: str, make_submit: Callable[[], Submit], data: bytes, *, concurrency: int,
                    requests: int, warmup: int = 1) -> ServiceResult:
    """``requests`` cut-outs through ``concurrency`` client threads, each with its own connection."""
    local = threading.local()

    def submit() -> Submit:
        if not hasattr(local, "submit"):
            local.submit = make_submit()
        fn: Submit = local.submit
        return fn

    for _ in range(warmup):
        submit()(data)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(_: int) -> None:
        nonlocal errors
        t = time.perf_counter()
        try:
            out = submit()(data)
            ok = len(out) > 0
        except Exception:  # counted, not raised: a loaded service that drops a request is a result
            ok = False
        with lock:
            if ok:
                latencies.append(time.perf_counter() - t)
            else:
                errors += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(requests)))
    return ServiceResult(name, concurrency, requests, time.perf_counter() - t0, latencies, errors)


def rembg_submitter(base_url: str, model: str) -> Callable[[], Submit]:
    def make() -> Submit:
        import httpx

        client = httpx.Client(base_url=base_url, timeout=300)

        def submit(data: bytes) -> bytes:
            r = client.post("/api/remove", files={"file": ("photo.jpg", data, "image/jpeg")}, data={"model": model})
            r.raise_for_status()
            return r.content

        return submit

    return make


def ours_submitter(base_url: str, api_key: str, model: str | None) -> Callable[[], Submit]:
    def make() -> Submit:
        from bgremover.client import Client

        client = Client(base_url, api_key, timeout=300)
        return lambda data: client.remove(data, model=model)

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RembgServer:
    """``rembg s`` on a free loopback port, for as long as the ``with`` block lasts."""

    def __init__(self, python: Path, env: dict[str, str], startup_timeout: float = 180.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "BROWSER": "true"}
        self.proc = subprocess.Popen([str(python.parent / "rembg"), "s", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--log_level", "warning"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchmarkFailed(f"rembg s exited ({self.proc.returncode}) before answering")
            try:
                if httpx.get(f"{self.url}/api", timeout=2).status_code == 200:  # its API docs page
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.close()
        raise BenchmarkFailed(f"rembg s did not answer on {self.url} within {timeout:.0f} s")

    def peak_rss_bytes(self) -> int | None:
        return process_peak_rss(self.proc.pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> RembgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
