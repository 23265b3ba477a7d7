"""The soak's memory figures: the whole process tree under a pid, and the pid that listens on a port."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

from bgremover.benchmark.process_memory import MemorySampler, listening_pid, process_tree, sample_tree

CHILD = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); " \
        "b = bytearray(64 * 2**20); time.sleep(30)"


def test_the_tree_includes_grandchildren_and_their_memory() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD])
    try:
        deadline = time.monotonic() + 10
        while len(process_tree(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(process_tree(proc.pid)) == 2
        time.sleep(0.3)
        s = sample_tree(proc.pid)
        assert s is not None and s.processes == 2 and s.rss_bytes > 64 * 2**20  # the 64 MiB buffer is resident
        sampler = MemorySampler(proc.pid, interval=0.1)
        sampler.start()
        time.sleep(0.35)
        samples = sampler.stop()
        assert len(samples) >= 3 and samples[-1].t > samples[0].t
    finally:
        for pid in process_tree(proc.pid)[1:]:
            subprocess.run(["kill", str(pid)])
        proc.kill()
        proc.wait()
    assert sample_tree(proc.pid) is None


def test_the_listening_pid_is_found_by_socket_inode() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        import os

        assert listening_pid(s.getsockname()[1]) == os.getpid()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert listening_pid(port) is None
