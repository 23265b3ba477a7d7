"""The soak's memory figures: the whole process tree under a pid, and the pid that listens on a port."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from bgremover.benchmark.process_memory import (
    MemorySampler,
    listening_pid,
    process_peak_rss,
    process_tree,
    sample_tree,
)

# The child starts a grandchild, says its pid, then allocates 50 MiB (written, so resident) when told to.
CHILD = (
    "import subprocess, sys\n"
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print(g.pid, flush=True)\n"
    "sys.stdin.readline()\n"
    "b = b'x' * (50 * 2**20)\n"
    "print('allocated', flush=True)\n"
    "sys.stdin.readline()\n"
)
MiB = 2**20


def test_the_tree_holds_child_and_grandchild_and_rss_follows_an_allocation() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    try:
        assert set(process_tree(proc.pid)) == {proc.pid, grandchild} and process_tree(proc.pid)[0] == proc.pid
        before = sample_tree(proc.pid)
        assert before is not None and before.processes == 2
        assert before.pss_bytes is not None and 0 < before.pss_bytes <= before.rss_bytes  # bytes, not kB

        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "allocated"
        after = sample_tree(proc.pid)
        assert after is not None and after.rss_bytes - before.rss_bytes > 45 * MiB
        assert after.pss_bytes is not None and after.pss_bytes - before.pss_bytes > 45 * MiB
        peak = process_peak_rss(proc.pid)
        assert peak is not None and peak > 50 * MiB

        sampler = MemorySampler(proc.pid, interval=0.1)
        sampler.start()
        time.sleep(0.35)
        samples = sampler.stop()
        assert len(samples) >= 3 and samples[-1].t > samples[0].t
        assert all(s.processes == 2 and s.rss_bytes > 50 * MiB for s in samples)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)
        proc.kill()
        proc.wait()
    assert sample_tree(proc.pid) is None


def test_a_vanished_pid_gives_none() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert process_tree(proc.pid) == []
    assert sample_tree(proc.pid) is None
    assert process_peak_rss(proc.pid) is None


def test_the_listening_pid_is_this_process() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert listening_pid(s.getsockname()[1]) == os.getpid()
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))  # a wildcard listener also serves loopback
        s.listen()
        assert listening_pid(s.getsockname()[1]) == os.getpid()
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))  # another address: not 127.0.0.1 unless asked for
        s.listen()
        port = s.getsockname()[1]
        assert listening_pid(port) is None
        assert listening_pid(port, host_hex="0200007F") == os.getpid()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound but not listening
        port = s.getsockname()[1]
    assert listening_pid(port) is None
