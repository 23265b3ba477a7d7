"""``bgremover bench-drip``: the delay one account's drip-feeding URLs cause another account's task."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("bench-drip")
    def bench_drip(
        url: str = typer.Option("http://127.0.0.1:8000", help="The service (loopback only); it must allow loopback "
                                                              "fetches: BGREMOVER_FETCH_ALLOW_NETWORKS=127.0.0.1/32."),
        api_key: str = typer.Option(..., envvar="BGREMOVER_API_KEY", help="Account B's key: the victim."),
        attacker_key: str = typer.Option(..., envvar="BGREMOVER_ATTACKER_KEY", help="Account A's key: the drips."),
        drips: int = typer.Option(16, min=1, help="Drip URLs account A submits each round."),
        drip_rate: float = typer.Option(1.0, min=0.01, help="Bytes a second each drip sends after its JPEG header."),
        hold: float = typer.Option(60.0, min=1.0, help="Seconds a drip would last if the service let it."),
        rounds: int = typer.Option(3, min=1, help="Timed tasks of B, alone and under attack."),
        size: float = typer.Option(1.0, min=0.01, max=40, help="B's photo in megapixels."),
        model: Optional[str] = typer.Option(None, help="Preset (default: the server's)."),
        json_file: Optional[Path] = typer.Option(None, "--json", help="Write the figures here as JSON."),
    ) -> None:
        """Time account B's URL task alone, then while account A has DRIPS slow-drip URLs in flight."""
        from urllib.parse import urlsplit

        from bgremover.benchmark.drip import measure_drip_delay
        from bgremover.benchmark.workload import build_workloads

        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise typer.BadParameter("the drip benchmark runs against a loopback service only")
        with tempfile.TemporaryDirectory(prefix="bgremover-drip-") as tmp:
            (workload,) = build_workloads([size], Path(tmp))
            photo = workload.path.read_bytes()
        report = measure_drip_delay(url.rstrip("/"), api_key, attacker_key, photo, drips=drips, drip_rate=drip_rate,
                                    hold_s=hold, rounds=rounds, model=model)
        alone = ", ".join(f"{x:.2f}" for x in report.alone_s)
        attacked = ", ".join(f"{x:.2f}" for x in report.attacked_s)
        typer.echo(f"B alone (s):            {alone}")
        typer.echo(f"B under {drips} drips (s):  {attacked}   (A's drips still open then: "
                   f"{report.drips_open_when_b_finished})")
        typer.echo(f"median delay caused by A: {report.delay_s:+.2f} s; A's tasks ended as {report.attacker_outcomes}")
        if json_file:
            json_file.write_text(json.dumps(report.to_json(), indent=2))
