"""Which split of the cores serves most images: P worker processes with T ONNX threads each, P × T = cores.

Each split runs real cut-outs (decode, model, refine, encode) in P processes at once, as ``serve``'s workers
do, and counts finished images per wall-clock second once every process is warm. ``bgremover bench-cores
--save`` writes the result to ``<data_dir>/cores.json``, where ``serve`` reads it (``jobs/cores.py``).
"""
from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SplitResult:
    workers: int
    threads: int
    images: int
    wall_s: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.wall_s

    def to_json(self) -> dict[str, Any]:
        return {"workers": self.workers, "threads": self.threads, "images": self.images, "wall_s": self.wall_s,
                "images_per_s": self.images_per_s}


def splits(cores: int) -> list[tuple[int, int]]:
    """Every (processes, threads) whose product is the core count, one process first."""
    return [(cores // t, t) for t in range(cores, 0, -1) if cores % t == 0]


def _worker(threads: int, preset: str, photo: bytes, count: int, ready: Any, start: Any, out: Any) -> None:
    from bgremover.config import load_settings
    from bgremover.pipeline.remover import CutoutOptions, Remover

    remover = Remover(load_settings(onnx_threads=threads))
    opts = CutoutOptions(model=preset, format="png")
    remover.remove(photo, opts)  # warm: sessions and arenas
    ready.wait()
    start.wait()
    for _ in range(count):
        remover.remove(photo, opts)
    out.put(time.perf_counter())


def measure_split(workers: int, threads: int, preset: str, photo: bytes, images_per_worker: int) -> SplitResult:
    ctx = mp.get_context("spawn")
    ready, start, out = ctx.Barrier(workers + 1), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(threads, preset, photo, images_per_worker, ready, start, out))
             for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        ready.wait(timeout=600)
        t0 = time.perf_counter()
        start.set()
        ends = [out.get(timeout=1800) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return SplitResult(workers, threads, workers * images_per_worker, max(ends) - t0)


def best_split(results: list[SplitResult], tolerance: float = 0.05) -> SplitResult:
    """The fastest split; within ``tolerance`` of it, fewer processes win (less memory, lower latency alone)."""
    top = max(r.images_per_s for r in results)
    return min((r for r in results if r.images_per_s >= top * (1 - tolerance)), key=lambda r: r.workers)
