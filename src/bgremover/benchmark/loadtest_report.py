"""The tables ``bgremover loadtest`` prints: throughput and latency per kind, answers by code, memory."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bgremover.benchmark.loadtest import EXPECTED, KINDS, LoadReport


def print_load_report(console: Console, report: LoadReport) -> None:
    data = report.to_json()
    t = Table(title=f"load: {data['requests']} requests in {data['wall_s']:.1f} s at concurrency "
                    f"{data['concurrency']} — {data['requests_per_s']:.2f} req/s, {data['images_per_s']:.2f} images/s",
              title_justify="left")
    for col in ("kind", "requests", "p50 s", "p95 s", "p99 s", "max s", "answers by code"):
        t.add_column(col, justify="left" if col in ("kind", "answers by code") else "right")
    codes = report.codes()
    for kind in (*KINDS, None):
        lat = report.latency(kind)
        n = sum(codes[kind].values()) if kind else len(report.outcomes)
        cells = [f"{lat[k]:.3f}" if lat else "–" for k in ("p50", "p95", "p99", "max")]
        answers = "" if kind is None else ", ".join(
            f"{c}={n_}" if c in EXPECTED[kind] else f"[red]{c}={n_}[/red]" for c, n_ in codes[kind].most_common())
        t.add_row(kind or "all", str(n), *cells, answers)
    console.print(t)
    style = "red" if report.unexpected else "green"
    console.print(f"[{style}]unexpected answers: {report.unexpected}[/{style}]")
    mem = data["memory"]
    if mem["rss_end_mb"] is None:
        return
    m = Table(title="server process tree memory (RSS, from /proc)", title_justify="left")
    for col in ("at", "RSS MB", "PSS MB", "processes"):
        m.add_column(col, justify="right")
    samples = report.memory
    step = max(1, len(samples) // 10)
    picks = {s.t: s for s in [*samples[::step], report.memory_at(report.warm_mark_s), samples[-1]] if s is not None}
    for _, s in sorted(picks.items()):
        pss = "–" if s.pss_bytes is None else f"{s.pss_bytes / 2**20:.0f}"
        m.add_row(f"{s.t:.0f} s", f"{s.rss_bytes / 2**20:.0f}", pss, str(s.processes))
    console.print(m)
    growth = mem["growth_pct"]
    if growth is not None:
        console.print(f"RSS at {report.warm_mark_s:g} s: {mem['rss_warm_mb']:.0f} MB; at the end: "
                      f"{mem['rss_end_mb']:.0f} MB; growth {growth:+.1f} %; max {mem['rss_max_mb']:.0f} MB")
