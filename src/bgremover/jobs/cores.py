"""How ``serve`` shares the cores: how many worker processes, and how many ONNX threads each.

The operator's settings win (``BGREMOVER_WORKERS``, ``BGREMOVER_ONNX_THREADS``). Left at 0, the split comes
from a measurement of this machine (``bgremover bench-cores --save`` writes ``<data_dir>/cores.json``), or,
before one exists, from the rule the reference measurements gave (docs/service.md, "Cores"): one process
per ``REFERENCE_THREADS_PER_WORKER`` cores.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bgremover.config import Settings

REFERENCE_THREADS_PER_WORKER = 2
MEASUREMENT_FILE = "cores.json"


@dataclass(frozen=True)
class CorePlan:
    workers: int
    threads: int  # ONNX intra-op threads per worker process
    reason: str

    def describe(self, cores: int) -> str:
        return f"{self.workers} worker process(es) × {self.threads} ONNX thread(s) on {cores} core(s): {self.reason}"


def available_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def measured_split(data_dir: Path, cores: int) -> tuple[int, int] | None:
    """The split saved by ``bench-cores --save`` for this core count, if any."""
    try:
        saved = json.loads((data_dir / MEASUREMENT_FILE).read_text())
    except (OSError, ValueError):
        return None
    if saved.get("cores") != cores:
        return None  # measured on another share of the machine
    best = saved.get("best") or {}
    workers, threads = best.get("workers"), best.get("threads")
    return (workers, threads) if isinstance(workers, int) and isinstance(threads, int) else None


def plan_cores(settings: Settings, cores: int, *, workers: int | None = None) -> CorePlan:
    """``workers`` is the ``--workers`` flag (None: not given)."""
    chosen = settings.workers if workers is None else workers
    threads = settings.onnx_threads
    if chosen > 0:
        threads = threads or max(1, cores // chosen)
        return CorePlan(chosen, threads, "as configured" if settings.onnx_threads else
                        "workers as configured, the cores shared between them")
    if threads > 0:
        return CorePlan(max(1, cores // threads), threads, "ONNX threads as configured, a process per share")
    if (measured := measured_split(settings.data_dir, cores)) is not None:
        return CorePlan(*measured, f"measured on this machine ({settings.data_dir / MEASUREMENT_FILE})")
    per = min(cores, REFERENCE_THREADS_PER_WORKER)
    return CorePlan(max(1, cores // per), per, f"reference rule, one process per {per} cores "
                    "(measure this machine: bgremover bench-cores --save)")


def worker_env(plan: CorePlan) -> dict[str, str]:
    """The environment of each worker process: its share of the cores."""
    return {**os.environ, "BGREMOVER_ONNX_THREADS": str(plan.threads)}
