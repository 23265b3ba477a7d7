"""The benchmark's outputs: a rich table for people and a JSON document for the README and CI.

Ratios are always peer / ours, so that 1.0 or more means "at least as good as the peer": time ratio
= rembg's median seconds / ours, memory ratio = rembg's peak RSS / ours. Only ratios taken in the
same run are claims; absolute seconds drift with the machine's load, which the JSON records.
"""
from __future__ import annotations

import os
import platform
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from bgremover.benchmark.cold_start import ColdResult
from bgremover.benchmark.measure import EngineResult
from bgremover.benchmark.workload import Workload

REFERENCE = "rembg-u2net"


def reference_for(results: list[EngineResult], workload: str, reference: str = REFERENCE) -> EngineResult | None:
    """The peer to compare against on one workload: ``reference`` when measured, else the first rembg model."""
    peers = [r for r in results if r.workload == workload and r.kind == "rembg"]
    return next((r for r in peers if r.engine == reference), peers[0] if peers else None)


def ratios(ours: EngineResult, peer: EngineResult) -> dict[str, float]:
    return {"time": peer.summary.median / ours.summary.median, "memory": peer.peak_rss_bytes / ours.peak_rss_bytes}


def machine_info() -> dict[str, Any]:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def to_json(workloads: list[Workload], results: list[EngineResult], *, settings: dict[str, Any],
            load: dict[str, Any], cold: list[ColdResult] | None = None,
            cold_phases: dict[str, float] | None = None,
            slow_imports: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    rows = []
    for r in results:
        row = asdict(r)
        row["peak_rss_mb"] = round(r.peak_rss_mb, 1)
        if r.kind != "rembg":
            row["vs"] = {p.engine: ratios(r, p) for p in results if p.kind == "rembg" and p.workload == r.workload}
        rows.append(row)
    doc: dict[str, Any] = {"machine": machine_info(), "settings": settings, "load_average": load,
                           "workloads": [w.to_json() for w in workloads], "results": rows,
                           "ratio_convention": "peer / ours: >= 1.0 means ours is at least as fast (time) "
                                               "or uses no more peak memory (memory)"}
    if cold is not None:
        doc["cold_start"] = [{"engine": c.name, "median_s": c.median, "seconds": c.seconds, "argv": c.argv}
                             for c in cold]
    if cold_phases is not None:
        doc["cold_start_phases_s"] = cold_phases
    if slow_imports is not None:
        doc["slowest_imports_s"] = dict(slow_imports)
    return doc


def _ratio_cell(x: float | None, target: float = 1.0) -> str:
    if x is None:
        return "–"
    colour = "green" if x >= target else "red"
    return f"[{colour}]{x:.2f}×[/{colour}]"


def results_table(results: list[EngineResult], reference: str = REFERENCE) -> Table:
    """One time-ratio column per rembg model measured (``bg-remover-fast`` is judged against rembg u2netp, the
    default against u2net: both are in the same row) and one memory column against the reference peer."""
    peers = list(dict.fromkeys(r.engine for r in results if r.kind == "rembg"))
    memory_ref = reference if reference in peers else (peers[0] if peers else reference)
    t = Table(title="Warm latency, bytes in → PNG bytes out (one process per engine)", title_justify="left")
    t.add_column("engine", no_wrap=True)  # the name is the point of the row: other columns wrap first
    for col in ("size", "median s", "min–max s", "img/s", "peak RSS MB", "out KB"):
        t.add_column(col, justify="left" if col == "size" else "right")
    for peer in peers:
        t.add_column(f"time × {peer}", justify="right")
    if peers:
        t.add_column(f"memory × {memory_ref}", justify="right")
    for r in results:
        s = r.summary
        cells = [r.engine, f"{r.workload} ({r.megapixels:.2f})", f"{s.median:.3f}", f"{s.min:.2f}–{s.max:.2f}",
                 f"{s.throughput:.2f}", f"{r.peak_rss_mb:.0f}", f"{r.out_bytes / 1024:.0f}"]
        same = {p.engine: p for p in results if p.kind == "rembg" and p.workload == r.workload}
        for peer in peers:
            cells.append("–" if r.kind == "rembg" or peer not in same else _ratio_cell(ratios(r, same[peer])["time"]))
        if peers:
            ref = reference_for(results, r.workload, memory_ref)
            cells.append("–" if r.kind == "rembg" or ref is None else _ratio_cell(ratios(r, ref)["memory"]))
        t.add_row(*cells)
    return t


def stages_table(results: list[EngineResult]) -> Table | None:
    """Where our time goes: median milliseconds per pipeline stage (from ``Cutout.timings``)."""
    ours = [r for r in results if r.stages]
    if not ours:
        return None
    names = list(dict.fromkeys(k for r in ours for k in r.stages))
    t = Table(title="Where the time goes: median ms per stage", title_justify="left")
    t.add_column("engine")
    t.add_column("size")
    for n in names:
        t.add_column(n, justify="right")
    t.add_column("sum", justify="right")
    for r in ours:
        t.add_row(r.engine, r.workload, *(f"{r.stages.get(n, 0.0) * 1000:.0f}" for n in names),
                  f"{sum(r.stages.values()) * 1000:.0f}")
    return t


def cold_table(cold: list[ColdResult], phases: dict[str, float] | None,
               slow_imports: list[tuple[str, float]] | None) -> Table:
    t = Table(title="Cold start: process start → cut-out on disk", title_justify="left")
    t.add_column("command")
    t.add_column("median s", justify="right")
    t.add_column("runs s", justify="right")
    for c in cold:
        t.add_row(c.name, f"{c.median:.2f}", " ".join(f"{x:.2f}" for x in c.seconds))
    if phases:
        t.add_row("[dim]ours, by phase[/dim]", f"{sum(phases.values()):.2f}",
                  ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    if slow_imports:
        t.add_row("[dim]slowest imports[/dim]", "", ", ".join(f"{k} {v:.2f}" for k, v in slow_imports))
    return t


def service_table(rows: list[Any]) -> Table:
    t = Table(title="HTTP service: finished cut-outs per second (clients back to back)", title_justify="left")
    for col in ("service", "concurrency", "img/s", "latency median s", "errors", "server peak RSS MB"):
        t.add_column(col, justify="left" if col == "service" else "right")
    for r in rows:
        rss = "–" if r.peak_rss_bytes is None else f"{r.peak_rss_bytes / 2**20:.0f}"
        t.add_row(r.service, str(r.concurrency), f"{r.throughput:.2f}", f"{r.latency_median:.2f}", str(r.errors), rss)
    return t


def print_report(console: Console, results: list[EngineResult], cold: list[ColdResult] | None = None,
                 phases: dict[str, float] | None = None, slow_imports: list[tuple[str, float]] | None = None,
                 reference: str = REFERENCE) -> None:
    if results:
        console.print(results_table(results, reference))
        stages = stages_table(results)
        if stages is not None:
            console.print(stages)
        console.print("[dim]ratios are peer / ours: ≥ 1.00× means ours is at least as fast / uses no more "
                      "peak memory; only ratios from the same run are claims.[/dim]")
    if cold:
        console.print(cold_table(cold, phases, slow_imports))
