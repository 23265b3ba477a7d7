"""The measured process: loads one engine, warms it up, then times one cut-out per request.

Run as a script (``python worker.py bgremover --preset NAME`` or ``python worker.py rembg --model u2net``)
so that the same file works under rembg's own venv, where bgremover is not installed: only the
standard library is imported at module level. One engine per process keeps each engine's peak RSS
its own. The parent drives several workers in turn (see ``measure.py``) so that a noisy machine
slows every engine alike.

Protocol: JSON lines. After loading and warming up the worker writes ``{"ready": ...}``; then each
line ``run`` on stdin gets ``{"seconds", "stages", "out_bytes"}`` and ``stats`` gets the peak RSS.
Libraries that print (progress bars, logs) are sent to stderr so stdout carries the protocol only.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Engine = Callable[[bytes], "tuple[bytes, dict[str, float]]"]


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident memory (VmHWM), in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def is_loopback(address: Any) -> bool:
    """True for addresses a benchmark may reach: loopback IPs and Unix sockets."""
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def guard_network() -> None:
    """Refuse every connection that is not to loopback, so a peer can never download behind our back."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address: Any) -> None:
        if not is_loopback(address):
            raise ConnectionRefusedError(f"bgremover bench: network access to {address!r} is blocked")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]


def make_bgremover(args: argparse.Namespace) -> tuple[Engine, str]:
    from bgremover import __version__
    from bgremover.pipeline.remover import CutoutOptions, Remover

    remover = Remover()
    opts = CutoutOptions(model=args.preset, format=args.format)
    remover.preset(args.preset)  # unknown names fail before any timing

    def run(data: bytes) -> tuple[bytes, dict[str, float]]:
        cut = remover.remove(data, opts)
        return cut.data, dict(cut.timings)

    return run, __version__


def make_rembg(args: argparse.Namespace) -> tuple[Engine, str]:
    from importlib.metadata import version

    from rembg import new_session, remove

    session = new_session(args.model)

    def run(data: bytes) -> tuple[bytes, dict[str, float]]:
        return remove(data, session=session), {}

    return run, version("rembg")


ENGINES = {"bgremover": make_bgremover, "rembg": make_rembg}


def drop_script_dir() -> None:
    """Run as a script, this directory is sys.path[0]: take it off so ``measure.py`` and friends
    cannot shadow a top-level module of the engine under test."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("engine", choices=sorted(ENGINES))
    p.add_argument("--input", required=True, type=Path)
    p.add_argument("--preset", default=None, help="bgremover preset")
    p.add_argument("--model", default="u2net", help="rembg model")
    p.add_argument("--format", default="png")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--save", type=Path, default=None, help="write the warm-up result here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    drop_script_dir()
    args = parse_args(argv)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr
    sys.stdout = sys.stderr
    guard_network()

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")

    data = args.input.read_bytes()
    t0 = time.perf_counter()
    try:
        run, engine_version = ENGINES[args.engine](args)
    except Exception as exc:  # report to the parent, which raises a typed error
        reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    t1 = time.perf_counter()
    first: list[float] = []
    for _ in range(max(1, args.warmup)):
        s = time.perf_counter()
        result, _stages = run(data)
        first.append(time.perf_counter() - s)
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_bytes(result)
    reply({"ready": True, "version": engine_version, "load_s": t1 - t0, "warmup_s": first})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            s = time.perf_counter()
            result, stages = run(data)
            reply({"seconds": time.perf_counter() - s, "stages": stages, "out_bytes": len(result)})
        elif cmd == "stats":
            reply({"peak_rss_bytes": peak_rss_bytes()})
        elif cmd == "quit":
            break
        else:
            reply({"error": f"unknown command {cmd!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
