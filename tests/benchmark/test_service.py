"""Service throughput: client threads back to back, every request timed, failures counted not raised."""
from __future__ import annotations

import threading
import time

import pytest

from bgremover.benchmark.service import free_port, measure_service, process_peak_rss


def test_requests_run_at_the_asked_concurrency_and_failures_are_counted() -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "calls": 0}

    def make():  # type: ignore[no-untyped-def]
        def submit(data: bytes) -> bytes:
            with lock:
                state["now"] += 1
                state["calls"] += 1
                state["max"] = max(state["max"], state["now"])
                n = state["calls"]
            time.sleep(0.05)
            with lock:
                state["now"] -= 1
            if n % 5 == 0:
                raise RuntimeError("dropped")
            return data[::-1]
        return submit

    r = measure_service("echo", make, b"abc", concurrency=3, requests=10, warmup=1)
    assert 1 < state["max"] <= 3
    assert state["calls"] == 11  # one warm-up, then the ten measured
    assert r.errors == 2 and len(r.latencies) == 8 and all(x > 0 for x in r.latencies)
    assert r.throughput == pytest.approx(8 / r.wall_s)
    doc = r.to_json()
    assert doc["images_per_s"] == r.throughput and doc["peak_rss_mb"] is None


def test_peak_rss_of_a_live_process_is_read_from_proc() -> None:
    import os

    import psutil

    before = psutil.Process().memory_info().rss
    peak = process_peak_rss(os.getpid())  # Linux (/proc) is where the suite runs: this process is there
    assert peak is not None and peak >= before - 4096 and peak > 10 * 2**20, "the high-water mark is at least then"
    assert process_peak_rss(2**22 + 12345) is None  # no such process


def test_free_port_is_a_bindable_loopback_port() -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
