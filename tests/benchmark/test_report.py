"""The report: ratios are peer / ours, the JSON carries every figure, the table names every engine."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from bgremover.benchmark.measure import EngineResult, Summary
from bgremover.benchmark.report import print_report, ratios, reference_for, to_json
from bgremover.benchmark.workload import Workload


def result(engine: str, kind: str, seconds: list[float], rss_mb: int, workload: str = "1MP") -> EngineResult:
    stages = {"decode": 0.01, "predict": 0.2, "encode": 0.1} if kind == "bgremover" else {}
    return EngineResult(engine=engine, kind=kind, version="1", workload=workload, megapixels=1.0, seconds=seconds,
                        summary=Summary.of(seconds), peak_rss_bytes=rss_mb * 2**20, load_s=0.5, warmup_s=[1.0],
                        out_bytes=1000, stages=stages)


RESULTS = [result("bg-remover", "bgremover", [0.5, 0.6, 0.7], 500),
           result("rembg-u2netp", "rembg", [0.4], 700),
           result("rembg-u2net", "rembg", [1.2], 1000)]


def test_ratios_are_peer_over_ours_so_above_one_means_we_win() -> None:
    q = ratios(RESULTS[0], RESULTS[2])
    assert q["time"] == 1.2 / 0.6 and q["memory"] == 2.0


def test_the_reference_peer_is_rembg_u2net_when_measured() -> None:
    assert reference_for(RESULTS, "1MP").engine == "rembg-u2net"
    assert reference_for(RESULTS[:2], "1MP").engine == "rembg-u2netp"
    assert reference_for(RESULTS, "4MP") is None


def test_json_has_every_run_and_ratios_against_each_peer(tmp_path: Path) -> None:
    w = Workload("1MP", tmp_path / "p.jpg", 1000, 1000, 1, "generated scene")
    doc = json.loads(json.dumps(to_json([w], RESULTS, settings={"repeat": 3}, load={"start": [1, 1, 1]})))
    ours = doc["results"][0]
    assert ours["seconds"] == [0.5, 0.6, 0.7] and ours["summary"]["median"] == 0.6
    assert set(ours["vs"]) == {"rembg-u2net", "rembg-u2netp"}
    assert ours["vs"]["rembg-u2net"]["time"] == 2.0
    assert "vs" not in doc["results"][1]
    assert doc["workloads"][0]["megapixels"] == 1.0 and doc["machine"]["cpus"]


def test_table_lists_engines_ratios_and_stages() -> None:
    console = Console(record=True, width=200)
    print_report(console, RESULTS)
    text = console.export_text()
    for word in ("bg-remover", "rembg-u2net", "2.00×", "predict", "encode"):
        assert word in text


def test_the_table_has_a_time_ratio_against_each_rembg_model_and_names_the_memory_peer() -> None:
    """bg-remover-fast is held to rembg u2netp and bg-remover to rembg u2net: both ratios must be on the row."""
    console = Console(record=True, width=250)
    print_report(console, RESULTS)
    text = console.export_text()
    assert "time × rembg-u2netp" in text and "time × rembg-u2net " in text and "memory × rembg-u2net " in text
    ours = next(line for line in text.splitlines() if line.startswith("│ bg-remover"))
    assert "0.67×" in ours and "2.00×" in ours  # 0.4 / 0.6 and 1.2 / 0.6; memory 1000 / 500 is 2.00× too
    alone = Console(record=True, width=250)
    print_report(alone, RESULTS[:2])  # only u2netp measured: every header names it, none claims u2net
    only = alone.export_text()
    assert "rembg-u2net " not in only and "memory × rembg-u2netp" in only


def test_a_log_wide_table_keeps_every_engine_name_and_peer_whole() -> None:
    """``bench`` writes logs 160 columns wide: the longest preset name and both peers' headers fit unclipped."""
    rows = [result("bg-remover-fast-fp32", "bgremover", [0.2, 0.18, 0.44], 448), *RESULTS[1:]]
    console = Console(record=True, width=160)
    print_report(console, rows)
    text = console.export_text()
    assert "bg-remover-fast-fp32" in text and "…" not in text
    assert "time × rembg-u2netp" in text and "memory × rembg-u2net" in text
