"""``bgremover loadtest``: soak a running local service with mixed requests; throughput, latency, errors, memory."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("loadtest")
    def loadtest(
        url: str = typer.Option("http://127.0.0.1:8000", help="The service (loopback only)."),
        api_key: str = typer.Option(..., envvar="BGREMOVER_API_KEY", help="An API key with credits."),
        duration: float = typer.Option(60.0, min=0.1, help="Seconds to run (600 for the reliability report)."),
        concurrency: int = typer.Option(4, min=1, max=8, help="Client threads."),
        max_requests: int = typer.Option(100_000, min=1, help="Upper bound on requests sent."),
        model: Optional[str] = typer.Option(None, help="Preset for the image requests (default: the server's)."),
        sizes: str = typer.Option("0.25,1", help="Photo sizes in megapixels, comma-separated."),
        photo: Optional[Path] = typer.Option(None, help="Photo to resize (default: as `bgremover bench`)."),
        mix: str = typer.Option("0.6,0.2,0.2", help="Weights of good images, bad images, bad requests."),
        server_pid: Optional[int] = typer.Option(None, help="Server pid for memory (default: whoever listens "
                                                            "on the URL's port)."),
        sample_interval: float = typer.Option(5.0, min=0.1, help="Seconds between memory samples."),
        warm_mark: float = typer.Option(60.0, min=0.0, help="Memory growth is measured from this second on."),
        max_growth: float = typer.Option(10.0, help="Exit 1 if RSS grows more than this many percent."),
        timeout: float = typer.Option(120.0, min=1.0, help="Seconds before one request counts as hung."),
        json_file: Optional[Path] = typer.Option(None, "--json", help="Write all figures here as JSON."),
    ) -> None:
        """Drive the service on loopback for DURATION seconds and report; exit 1 on an unexpected answer
        (5xx, a hang, a bad image that succeeded) or memory growth over --max-growth."""
        from urllib.parse import urlsplit

        from rich.console import Console

        from bgremover.benchmark.loadtest import LoadDriver, LoadPlan, save_report
        from bgremover.benchmark.process_memory import listening_pid
        from bgremover.benchmark.workload import build_workloads
        from bgremover.cli.bench import parse_sizes
        from bgremover.benchmark.loadtest_report import print_load_report

        console, err = Console(), Console(stderr=True)
        weights = tuple(float(x) for x in mix.split(","))
        if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
            raise typer.BadParameter("--mix takes three non-negative weights: good,bad_image,bad_request")
        plan = LoadPlan(url.rstrip("/"), api_key, duration, concurrency, max_requests,
                        weights, model, timeout)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory(prefix="bgremover-loadtest-") as tmp:
            photos = [w.path.read_bytes() for w in build_workloads(parse_sizes(sizes), Path(tmp), photo)]
        pid = server_pid or listening_pid(urlsplit(plan.base_url).port or 80)
        if pid is None:
            err.print("[yellow]no server process found listening on that port: memory is not sampled[/yellow]")
        try:
            driver = LoadDriver(plan, photos, server_pid=pid, sample_interval_s=sample_interval,
                                warm_mark_s=warm_mark)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        err.print(f"[dim]{concurrency} client(s) for {duration:g} s against {plan.base_url}"
                  f"{f' (server pid {pid})' if pid else ''}[/dim]")
        report = driver.run()
        print_load_report(console, report)
        if json_file:
            save_report(report, str(json_file))
            err.print(f"[dim]wrote {json_file}[/dim]")
        growth = report.memory_growth
        if report.unexpected or (growth is not None and 100 * growth > max_growth):
            raise typer.Exit(1)
