"""Memory of a process tree over time, read from /proc (Linux), for soak tests of a running service.

``bgremover serve`` is one API process plus worker processes it supervises (and restarts), so the figure
that matters is the sum over the live tree at each moment: resident set size (RSS) of each process, and
its proportional share (PSS, from ``smaps_rollup``) which does not count shared libraries twice.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class MemorySample:
    t: float  # seconds since sampling started
    rss_bytes: int
    pss_bytes: int | None
    processes: int


def status_kb(pid: int, field: str) -> int | None:
    """A ``/proc/PID/status`` figure in KiB (VmRSS now, VmHWM peak), or None when the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _pss_kb(pid: int) -> int | None:
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (by parent pid, read from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the command name may hold spaces and ')'
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if (PROC / str(pid)).exists():
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def sample_tree(root: int, t: float = 0.0) -> MemorySample | None:
    pids = process_tree(root)
    if not pids:
        return None
    rss = [status_kb(p, "VmRSS") or 0 for p in pids]
    pss = [_pss_kb(p) for p in pids]
    total_pss = None if any(v is None for v in pss) else sum(v for v in pss if v is not None) * 1024
    return MemorySample(t, sum(rss) * 1024, total_pss, len(pids))


def listening_pid(port: int, host_hex: str = "0100007F") -> int | None:
    """The pid that holds the LISTEN socket on 127.0.0.1:``port`` (matched by socket inode in /proc/*/fd)."""
    inodes = set()
    for line in (PROC / "net" / "tcp").read_text().splitlines()[1:]:
        parts = line.split()
        addr, hexport = parts[1].split(":")
        if parts[3] == "0A" and int(hexport, 16) == port and addr in (host_hex, "00000000"):
            inodes.add(f"socket:[{parts[9]}]")
    if not inodes:
        return None
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
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
