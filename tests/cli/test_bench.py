"""`bgremover bench`: one tiny real run (u2netp, one timed run), its table and JSON, and bad options refused.

No test asserts a speed: timings on a shared machine only mean something as ratios within one run.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from bgremover.benchmark.workload import generated_scene
from bgremover.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_bench_measures_a_preset_and_writes_every_figure_as_json(remover, tmp_path: Path) -> None:
    photo, out = tmp_path / "photo.png", tmp_path / "bench.json"
    Image.fromarray(generated_scene(300, 400)).save(photo)
    res = runner.invoke(app, ["bench", "--model", "bg-remover-fast", "--sizes", "0.05", "--repeat", "1",
                              "--photo", str(photo), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "bg-remover-fast" in res.output and "predict" in res.output
    doc = json.loads(out.read_text())
    (row,) = doc["results"]
    assert row["engine"] == "bg-remover-fast" and row["workload"] == "0.05MP" and len(row["seconds"]) == 1
    assert row["peak_rss_mb"] > 50 and {"decode", "predict", "refine", "encode"} <= set(row["stages"])
    assert doc["workloads"][0]["source"] == str(photo) and doc["settings"]["repeat"] == 1
    assert "vs" in row and row["vs"] == {}  # no peer asked for: no ratio invented


def test_bad_sizes_are_refused_before_anything_runs() -> None:
    res = runner.invoke(app, ["bench", "--sizes", "1,big"])
    assert res.exit_code == 2 and "megapixels" in res.output
    res = runner.invoke(app, ["bench", "--sizes", "0"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["bench", "--service", "-", "--concurrency", "0,4"])
    assert res.exit_code == 2 and "concurrency" in res.output


def test_an_unknown_preset_is_a_typed_error(remover) -> None:
    res = runner.invoke(app, ["bench", "--model", "no-such-preset", "--sizes", "0.05", "--repeat", "1"])
    assert res.exit_code == 2
    assert "unsupported_model" in res.output and "no-such-preset" in res.output


def test_measuring_a_service_needs_its_api_key(monkeypatch) -> None:
    monkeypatch.delenv("BGREMOVER_API_KEY", raising=False)
    res = runner.invoke(app, ["bench", "--service", "http://127.0.0.1:9"])
    assert res.exit_code == 2 and "api-key" in res.output
