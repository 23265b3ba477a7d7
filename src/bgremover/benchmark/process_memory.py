"""Memory of a process tree over time, read through psutil, for soak tests of a running service.

``bgremover serve`` is one API process plus worker processes it supervises (and restarts), so the figure
that matters is the sum over the live tree at each moment: resident set size (RSS) of each process, and
its proportional share (PSS) which does not count shared libraries twice.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class MemorySample:
    t: float  # seconds since sampling started
    rss_bytes: int
    pss_bytes: int | None
    processes: int


def process_peak_rss(pid: int) -> int | None:
    """High-water mark of ``pid``'s resident memory (``VmHWM``) in bytes, or None when it is gone.

    Read from ``/proc/PID/status`` by hand because psutil does not expose the high-water mark on Linux,
    and ``resource.getrusage`` only covers this process or children already waited for, not a live server.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB
    except (OSError, ValueError):
        pass
    return None


def _rss_bytes(pid: int) -> int:
    """Resident set size, 0 when the process vanished since the tree was listed (it holds nothing now)."""
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def _pss_bytes(pid: int) -> int | None:
    """Proportional set size, or None when it cannot be read (process gone, or not ours to inspect)."""
    try:
        return int(psutil.Process(pid).memory_full_info().pss)
    except (psutil.Error, AttributeError):  # AttributeError: no ``pss`` outside Linux
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants, root first; empty when ``root`` is gone."""
    try:
        return [root] + [p.pid for p in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def sample_tree(root: int, t: float = 0.0) -> MemorySample | None:
    pids = process_tree(root)
    if not pids:
        return None
    rss = [_rss_bytes(p) for p in pids]
    pss = [_pss_bytes(p) for p in pids]
    total_pss = None if any(v is None for v in pss) else sum(v for v in pss if v is not None)
    return MemorySample(t, sum(rss), total_pss, len(pids))


def listening_pid(port: int, host_hex: str = "0100007F") -> int | None:
    """The pid that holds the IPv4 LISTEN socket on ``port`` at ``host_hex`` (or at 0.0.0.0).

    ``host_hex`` is the address as ``/proc/net/tcp`` writes it (little-endian hex; the default is
    127.0.0.1), kept so callers need not change. Sockets of other users' processes have no pid
    without root; the benchmarks run as the same user as the server.
    """
    hosts = {socket.inet_ntoa(bytes.fromhex(host_hex)[::-1]), "0.0.0.0"}
    try:
        conns = psutil.net_connections(kind="tcp4")
    except psutil.AccessDenied:  # macOS needs root for the system-wide list
        return None
    for c in conns:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.laddr.ip in hosts:
            if c.pid is not None:
                return int(c.pid)
    return None


class MemorySampler(threading.Thread):
    """Samples the tree under ``root`` every ``interval`` seconds until stopped."""

    def __init__(self, root: int, interval: float = 5.0) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.root, self.interval = root, interval
        self.samples: list[MemorySample] = []
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while True:
            s = sample_tree(self.root, time.monotonic() - self._t0)
            if s is not None:
                self.samples.append(s)
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> list[MemorySample]:
        self._stop_event.set()
        self.join(10)
        final = sample_tree(self.root, time.monotonic() - self._t0)
        if final is not None:
            self.samples.append(final)
        return self.samples
