"""``bgremover bench``: how fast, how much memory, and what the time goes to — against rembg in the same run."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console


def parse_sizes(text: str) -> list[float]:
    try:
        sizes = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"sizes are megapixels separated by commas, e.g. 1,4 (got {text!r})") from None
    if not sizes or any(s <= 0 or s > 40 for s in sizes):
        raise typer.BadParameter("each size must be above 0 and at most 40 megapixels")
    return sizes


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"concurrency levels are integers separated by commas, e.g. 1,4 (got {text!r})") \
            from None
    if not levels or any(c < 1 or c > 64 for c in levels):
        raise typer.BadParameter("each concurrency level must be between 1 and 64")
    return levels


def ours_cold_command(preset: str, src: Path, out_dir: Path) -> list[str]:
    """``bgremover remove`` as a user runs it; the Python API in a fresh interpreter until that command exists."""
    if importlib.util.find_spec("bgremover.cli.remove") is not None:
        exe = shutil.which("bgremover", path=str(Path(sys.executable).parent)) or "bgremover"
        return [exe, "remove", str(src), "-o", str(out_dir), "--model", preset]
    code = ("import sys; from bgremover import remove; "
            "open(sys.argv[2], 'wb').write(remove(open(sys.argv[1], 'rb').read(), model=sys.argv[3]))")
    return [sys.executable, "-c", code, str(src), str(out_dir / f"{src.stem}.png"), preset]


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        model: list[str] | None = typer.Option(None, "--model", "-m",
                                                  help="Preset to measure (repeatable); default: every available one."),
        vs_rembg: bool = typer.Option(False, "--vs-rembg", help="Measure rembg in the same run and print ratios."),
        rembg_model: list[str] | None = typer.Option(None, "--rembg-model",
                                                        help="rembg model (repeatable); default: u2net and u2netp."),
        sizes: str = typer.Option("1,4", help="Photo sizes in megapixels, comma-separated."),
        repeat: int = typer.Option(5, min=1, help="Timed runs per engine and size (after warm-up)."),
        warmup: int = typer.Option(1, min=1, help="Untimed runs per engine before timing."),
        json_file: Path | None = typer.Option(None, "--json", help="Write all figures here as JSON."),
        cold_start: bool = typer.Option(False, "--cold-start", help="Also time process start → result on disk."),
        cold_runs: int = typer.Option(3, min=1, help="Timed cold starts per command."),
        photo: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                          help="Photo to resize; default: a dev-set photo or the sample."),
        save_dir: Path | None = typer.Option(None, help="Keep each engine's cut-out here for a look."),
        rembg_venv: Path | None = typer.Option(None, help="rembg's venv (default ~/.cache/bgremover/rembg-venv)."),
        rembg_spec: str | None = typer.Option(None, help="pip requirement for the peer (default: pinned rembg)."),
        service: str | None = typer.Option(
            None, help="Measure a running bgremover service at this URL instead (use - for none: only "
                       "`rembg s` with --vs-rembg)."),
        api_key: str | None = typer.Option(None, envvar="BGREMOVER_API_KEY", help="API key for --service."),
        concurrency: str = typer.Option("1,4", help="Client threads for --service, comma-separated."),
        service_requests: int = typer.Option(8, min=1, help="Cut-outs per concurrency level for --service."),
    ) -> None:
        """Warm latency (median, min, max), throughput, peak RSS and a per-stage breakdown at about 1 and 4 MP."""
        from rich.console import Console
        from rich.markup import escape

        from bgremover.benchmark import peer_rembg
        from bgremover.benchmark.cold_start import ColdCommand, measure_cold_start, profile_phases, slowest_imports
        from bgremover.benchmark.measure import measure_workload, ours
        from bgremover.benchmark.report import print_report, to_json
        from bgremover.benchmark.workload import build_workloads
        from bgremover.errors import BgRemoverError
        from bgremover.pipeline.remover import Remover

        console = Console(width=None if sys.stdout.isatty() else 160)  # logs keep whole rows (a ratio column per peer)
        err = Console(stderr=True)
        size_list = parse_sizes(sizes)
        if service is not None:
            levels = parse_levels(concurrency)
            _bench_service(console, err, service, api_key, (model or [None])[0],  # type: ignore[list-item]
                           (rembg_model or ["u2net"])[0] if vs_rembg else None, size_list[0], levels,
                           service_requests, photo, json_file, rembg_venv, rembg_spec)
            return
        try:
            remover = Remover()
            presets = list(model) if model else [
                p.name for p in remover.catalog.presets_by_credits()
                if all(remover.registry.is_available(m) for m in p.models)]
            for name in presets:
                remover.preset(name)  # unknown names fail here, with the list of known ones
            engines = [ours(p) for p in presets]
            peers = list(rembg_model) if rembg_model else ["u2net", "u2netp"]
            py = home = None
            if vs_rembg:
                venv = rembg_venv or peer_rembg.default_venv()
                py = peer_rembg.ensure_venv(venv, rembg_spec or peer_rembg.REMBG_SPEC, say=err.print)
                home = peer_rembg.prepare_home(remover.settings.model_dir, venv / "u2net-home", peers)
                engines += [peer_rembg.engine(m, py, home) for m in peers]
            if not engines:
                raise typer.BadParameter("no preset has its models fetched; run: bgremover models fetch")
            work = Path(tempfile.gettempdir()) / "bgremover-bench"
            workloads = build_workloads(size_list, work / "photos", photo)
            err.print(f"[dim]photos from {workloads[0].source}: "
                      + ", ".join(f"{w.label} = {w.width}×{w.height}" for w in workloads) + "[/dim]")
            load = {"start": os.getloadavg()}
            results = []
            with err.status("measuring…") as status:
                for w in workloads:
                    results += measure_workload(engines, w, repeat=repeat, warmup=warmup, save_dir=save_dir,
                                                progress=lambda m: status.update(m))
            cold = phases = slow = None
            if cold_start:
                src, out_dir = workloads[0].path, work / "cold"
                out_dir.mkdir(parents=True, exist_ok=True)
                cmds = [ColdCommand(f"bgremover {p}", ours_cold_command(p, src, out_dir), out_dir / f"{src.stem}.png")
                        for p in presets]
                if vs_rembg and py is not None and home is not None:
                    for m in peers:
                        dst = out_dir / f"rembg-{m}.png"
                        cmds.append(ColdCommand(f"rembg i -m {m}", peer_rembg.cli_command(py, m, src, dst), dst,
                                                env=peer_rembg.rembg_env(home)))
                with err.status("cold starts…") as status:
                    cold = measure_cold_start(cmds, cold_runs, progress=lambda m: status.update(m))
                    status.update("profiling our cold start…")
                    phases = profile_phases(presets[0], src, out_dir / "phases.png")
                    slow = slowest_imports()
            load["end"] = os.getloadavg()
        except BgRemoverError as exc:
            err.print(f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}")
            raise typer.Exit(2) from None
        print_report(console, results, cold, phases, slow)
        if json_file is not None:
            settings = {"presets": presets, "rembg_models": peers if vs_rembg else [], "sizes_mp": size_list,
                        "repeat": repeat, "warmup": warmup, "cold_runs": cold_runs if cold_start else 0}
            doc = to_json(workloads, results, settings=settings, load=load, cold=cold, cold_phases=phases,
                          slow_imports=slow)
            json_file.parent.mkdir(parents=True, exist_ok=True)
            json_file.write_text(json.dumps(doc, indent=2))
            err.print(f"[dim]wrote {json_file}[/dim]")


def _bench_service(console: Console, err: Console, url: str, api_key: str | None, preset: str | None, rembg: str | None,
                   size_mp: float, levels: list[int], requests: int, photo: Path | None, json_file: Path | None,
                   rembg_venv: Path | None, rembg_spec: str | None) -> None:
    """``bench --service URL``: our running service and, with --vs-rembg, ``rembg s`` on the same photo."""
    from rich.markup import escape

    from bgremover.benchmark import peer_rembg
    from bgremover.benchmark.report import service_table
    from bgremover.benchmark.service import RembgServer, measure_service, ours_submitter, rembg_submitter
    from bgremover.benchmark.workload import build_workloads
    from bgremover.config import load_settings
    from bgremover.errors import BgRemoverError

    if url != "-" and not api_key:
        raise typer.BadParameter("--service needs --api-key (or BGREMOVER_API_KEY)")
    rows = []
    try:
        (w,) = build_workloads([size_mp], Path(tempfile.gettempdir()) / "bgremover-bench" / "photos", photo)
        data = w.path.read_bytes()
        with err.status("measuring the service…") as status:
            if url != "-":
                for c in levels:
                    status.update(f"bgremover service, concurrency {c}")
                    rows.append(measure_service(f"bgremover {preset or 'default'} @ {url}",
                                                ours_submitter(url, api_key or "", preset), data,
                                                concurrency=c, requests=requests))
            if rembg is not None:
                venv = rembg_venv or peer_rembg.default_venv()
                py = peer_rembg.ensure_venv(venv, rembg_spec or peer_rembg.REMBG_SPEC, say=err.print)
                home = peer_rembg.prepare_home(load_settings().model_dir, venv / "u2net-home", [rembg])
                status.update("starting rembg s…")
                with RembgServer(py, peer_rembg.rembg_env(home)) as server:
                    for c in levels:
                        status.update(f"rembg s, concurrency {c}")
                        r = measure_service(f"rembg s -m {rembg}", rembg_submitter(server.url, rembg), data,
                                            concurrency=c, requests=requests)
                        r.peak_rss_bytes = server.peak_rss_bytes()
                        rows.append(r)
    except BgRemoverError as exc:
        err.print(f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}")
        raise typer.Exit(2) from None
    console.print(f"photo: {w.label} = {w.width}×{w.height} ({w.source})")
    console.print(service_table(rows))
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps({"workload": w.to_json(), "services": [r.to_json() for r in rows]}, indent=2))
        err.print(f"[dim]wrote {json_file}[/dim]")
