"""``bgremover bench-cores``: measure which split of this machine's cores serves most images; ``serve`` uses it."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("bench-cores")
    def bench_cores(
        model: str = typer.Option("bg-remover", help="Preset to measure with."),
        size: float = typer.Option(1.0, min=0.01, max=40, help="Photo size in megapixels."),
        images: int = typer.Option(6, min=1, help="Timed cut-outs per worker process and split."),
        save: bool = typer.Option(False, "--save", help="Write the result to <data_dir>/cores.json for `serve`."),
    ) -> None:
        """Run real cut-outs with every split of the cores (P processes × T ONNX threads) and print images/s."""
        from bgremover.benchmark.cores import best_split, measure_split, splits
        from bgremover.benchmark.workload import build_workloads
        from bgremover.config import load_settings
        from bgremover.jobs.cores import MEASUREMENT_FILE, available_cores

        cores = available_cores()
        with tempfile.TemporaryDirectory(prefix="bgremover-cores-") as tmp:
            (workload,) = build_workloads([size], Path(tmp))
            photo = workload.path.read_bytes()
        results = []
        for workers, threads in splits(cores):
            r = measure_split(workers, threads, model, photo, images)
            results.append(r)
            typer.echo(f"{workers} process(es) × {threads} thread(s): {r.images_per_s:.2f} images/s "
                       f"({r.images} in {r.wall_s:.1f} s)")
        best = best_split(results)
        typer.echo(f"best on {cores} core(s): {best.workers} × {best.threads}")
        if save:
            settings = load_settings()
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            path = settings.data_dir / MEASUREMENT_FILE
            path.write_text(json.dumps({"cores": cores, "model": model, "megapixels": size,
                                        "best": best.to_json(), "splits": [r.to_json() for r in results]}, indent=2))
            typer.echo(f"wrote {path}")
