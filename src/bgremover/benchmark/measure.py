"""Warm latency, throughput, peak memory and the per-stage split, one fresh process per engine.

All engines for one photo size are loaded first, each in its own process, then timed in rounds:
every round runs each engine once, in a rotating order. On a shared, noisy machine a slow spell
then hits every engine alike, so the ratios between engines in one run stay meaningful even when
the absolute times drift.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bgremover.benchmark.workload import Workload
from bgremover.errors import BgRemoverError

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
STAGES = ("decode", "predict", "refine", "foreground", "compose", "encode")


class BenchmarkFailed(BgRemoverError):
    """An engine under test could not start or answer."""

    code = "benchmark_failed"


@dataclass(frozen=True)
class EngineSpec:
    """One engine to measure: a display name and how to start its worker for a photo."""

    name: str  # "bg-remover", "rembg-u2net"
    kind: str  # "bgremover" | "rembg"
    python: str  # interpreter that runs worker.py
    args: tuple[str, ...]  # engine arguments for worker.py
    env: dict[str, str] | None = None  # the whole environment; None: inherit ours

    def command(self, workload: Workload, warmup: int) -> list[str]:
        return [self.python, str(WORKER_SCRIPT), self.kind, *self.args, "--input", str(workload.path),
                "--warmup", str(warmup)]


def ours(preset: str, fmt: str = "png") -> EngineSpec:
    return EngineSpec(preset, "bgremover", sys.executable, ("--preset", preset, "--format", fmt))


@dataclass
class Summary:
    median: float
    min: float
    max: float
    mean: float
    throughput: float  # images per second, sequential, from the timed runs

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        if not seconds:
            raise ValueError("no timings to summarise")
        return cls(median=statistics.median(seconds), min=min(seconds), max=max(seconds),
                   mean=statistics.fmean(seconds), throughput=len(seconds) / sum(seconds))


@dataclass
class EngineResult:
    engine: str
    kind: str
    version: str
    workload: str
    megapixels: float
    seconds: list[float]
    summary: Summary
    peak_rss_bytes: int
    load_s: float
    warmup_s: list[float]
    out_bytes: int
    stages: dict[str, float] = field(default_factory=dict)  # median seconds per stage

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / 2**20


def median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds of each stage over the runs; stages in pipeline order, unknown ones after."""
    names = [s for s in STAGES if any(s in r for r in runs)]
    names += sorted({k for r in runs for k in r} - set(names))
    return {n: statistics.median(r.get(n, 0.0) for r in runs) for n in names}


class Worker:
    """A running ``worker.py`` process that answers one request per line."""

    def __init__(self, spec: EngineSpec, workload: Workload, warmup: int, save: Path | None = None) -> None:
        self.spec = spec
        cmd = spec.command(workload, warmup)
        if save is not None:
            cmd += ["--save", str(save)]
        self.log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: chatty engines cannot block
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, env=spec.env, bufsize=1)
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.seek(0)
            err = self.log.read()
            raise BenchmarkFailed(f"{self.spec.name} exited ({self.proc.returncode}) without answering; "
                                  f"its last output: {err.strip()[-800:]}")
        msg: dict[str, Any] = json.loads(line)
        if "error" in msg:
            self.close()
            raise BenchmarkFailed(f"{self.spec.name} failed: {msg['error']}")
        return msg

    def request(self, op: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(op + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


def measure_workload(engines: Sequence[EngineSpec], workload: Workload, *, repeat: int = 5, warmup: int = 1,
                     save_dir: Path | None = None,
                     progress: Callable[[str], None] | None = None) -> list[EngineResult]:
    """Time every engine on one photo: load all, warm up, then ``repeat`` interleaved rounds."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    say = progress or (lambda _msg: None)
    workers: list[Worker] = []
    try:
        for spec in engines:
            say(f"{workload.label}: loading {spec.name}")
            save = save_dir / f"{spec.name}-{workload.label}.png" if save_dir else None
            workers.append(Worker(spec, workload, warmup, save))
        runs: dict[str, list[dict[str, Any]]] = {w.spec.name: [] for w in workers}
        for i in range(repeat):
            say(f"{workload.label}: round {i + 1}/{repeat}")
            k = i % len(workers)
            for w in workers[k:] + workers[:k]:
                runs[w.spec.name].append(w.request("run"))
        results = []
        for w in workers:
            rss = int(w.request("stats")["peak_rss_bytes"])
            rr = runs[w.spec.name]
            secs = [float(r["seconds"]) for r in rr]
            results.append(EngineResult(
                engine=w.spec.name, kind=w.spec.kind, version=str(w.ready.get("version", "")),
                workload=workload.label, megapixels=round(workload.megapixels, 3), seconds=secs,
                summary=Summary.of(secs), peak_rss_bytes=rss, load_s=float(w.ready["load_s"]),
                warmup_s=[float(x) for x in w.ready["warmup_s"]], out_bytes=int(rr[-1]["out_bytes"]),
                stages=median_stages([r["stages"] for r in rr if r["stages"]])))
        return results
    finally:
        for w in workers:
            w.close()
