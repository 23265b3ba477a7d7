"""Warm timings: one fresh process per engine, interleaved rounds, peak RSS and the per-stage split."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PIL import Image

from bgremover.benchmark.measure import BenchmarkFailed, EngineSpec, Summary, measure_workload, median_stages, ours
from bgremover.benchmark.worker import guard_network, is_loopback
from bgremover.benchmark.workload import Workload, build_workloads, generated_scene


@pytest.fixture(scope="module")
def small_photo(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    d = tmp_path_factory.mktemp("bench")
    src = d / "src.png"
    Image.fromarray(generated_scene(240, 320)).save(src)
    return build_workloads([0.08], d, src)[0]


def test_summary_gives_median_min_max_and_sequential_throughput() -> None:
    s = Summary.of([3.0, 1.0, 2.0, 2.0])
    assert (s.median, s.min, s.max, s.mean) == (2.0, 1.0, 3.0, 2.0)
    assert s.throughput == pytest.approx(4 / 8.0)
    with pytest.raises(ValueError):
        Summary.of([])


def test_stage_medians_come_in_pipeline_order_then_unknown_stages() -> None:
    runs = [{"encode": 3.0, "decode": 1.0, "predict": 2.0, "x": 5.0},
            {"encode": 5.0, "decode": 1.0, "predict": 4.0, "x": 7.0}]
    assert median_stages(runs) == {"decode": 1.0, "predict": 3.0, "encode": 4.0, "x": 6.0}


@pytest.mark.slow
def test_each_engine_runs_in_its_own_process_and_reports_time_memory_and_stages(remover, small_photo: Workload,
                                                                              tmp_path: Path) -> None:
    a, b = ours("bg-remover-fast"), ours("bg-remover-fast")
    b = EngineSpec("fast-again", b.kind, b.python, b.args)
    results = measure_workload([a, b], small_photo, repeat=2, save_dir=tmp_path)
    assert [r.engine for r in results] == ["bg-remover-fast", "fast-again"]
    for r in results:
        assert len(r.seconds) == 2 and all(s > 0 for s in r.seconds)
        assert r.summary.min <= r.summary.median <= r.summary.max
        # a whole interpreter with numpy, onnxruntime and the model: far above the 4.6 MB weights
        assert r.peak_rss_bytes > 50 * 2**20
        assert {"decode", "predict", "refine", "encode"} <= set(r.stages)
        assert r.load_s > 0 and len(r.warmup_s) == 1 and r.out_bytes > 0
        with Image.open(tmp_path / f"{r.engine}-{small_photo.label}.png") as im:
            assert im.mode == "RGBA" and im.size == (small_photo.width, small_photo.height)


def test_an_engine_that_cannot_start_is_a_typed_error(small_photo: Workload) -> None:
    with pytest.raises(BenchmarkFailed, match="no-such-preset") as exc:
        measure_workload([ours("no-such-preset")], small_photo, repeat=1)
    assert exc.value.code == "benchmark_failed"


def test_workers_only_reach_loopback() -> None:
    assert is_loopback(("127.0.0.1", 80)) and is_loopback(("::1", 80, 0, 0)) and is_loopback(("localhost", 1))
    assert is_loopback("/run/some.sock")
    assert not is_loopback(("192.0.2.1", 80)) and not is_loopback(("example.org", 443))


def test_the_network_guard_refuses_before_any_packet_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[object] = []
    # stand-ins for the real calls, so that even a broken guard sends nothing anywhere
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: reached.append(addr))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, addr: reached.append(addr) or 0)
    guard_network()
    with socket.socket() as s:
        with pytest.raises(ConnectionRefusedError, match="blocked"):
            s.connect(("192.0.2.1", 80))
        with pytest.raises(ConnectionRefusedError):
            s.connect_ex(("192.0.2.1", 80))
        s.connect(("127.0.0.1", 9))
    assert reached == [("127.0.0.1", 9)]
