"""``bgremover loadtest`` against the real server for a few seconds (the 10-minute soak is in docs/reliability.md):
every answer has an expected code, bad images fail with theirs and are refunded, memory is sampled."""
from __future__ import annotations

import json
import subprocess

import pytest

from bgremover.benchmark.loadtest import LoadPlan, LoadDriver, percentile, require_loopback
from hardening.conftest import FAST
from web.service_process import BIN


def test_only_loopback_services_are_driven() -> None:
    for ok in ("http://127.0.0.1:8000", "http://127.5.6.7:1", "http://[::1]:8000", "http://localhost:8000"):
        require_loopback(ok)
    for bad in ("http://10.0.0.1:8000", "http://example.com", "http://[2001:db8::1]/", "http://0.0.0.0:8000"):
        with pytest.raises(ValueError):
            require_loopback(bad)
    with pytest.raises(ValueError):
        LoadDriver(LoadPlan("http://192.168.1.2:8000", "k", 1), [b"x"])


def test_percentiles_are_nearest_rank() -> None:
    xs = [float(i) for i in range(1, 101)]
    assert (percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)) == (50, 95, 99, 100)
    assert percentile([3.0], 99) == 3.0


@pytest.mark.slow
def test_a_short_soak_answers_everything_as_expected(hardened, tmp_path) -> None:
    acc = hardened.new_account(10_000)
    before = hardened.client(acc).get("/billing/credits").json()["credits"]
    out = tmp_path / "load.json"
    proc = subprocess.run([str(BIN), "loadtest", "--url", hardened.base_url, "--duration", "5", "--concurrency", "3",
                           "--model", FAST, "--sizes", "0.1", "--warm-mark", "2", "--sample-interval", "0.5",
                           "--max-growth", "1000", "--timeout", "60", "--json", str(out)],
                          env={"BGREMOVER_API_KEY": acc.key, "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["unexpected"] == 0 and report["requests"] >= 6, report["codes"]
    assert report["codes"]["good"].get("ok", 0) >= 1, report["codes"]
    assert set(report["codes"]["bad_image"]) <= {"corrupt_image", "unsupported_image", "image_too_large"}
    assert report["latency_s"]["all"]["p99"] >= report["latency_s"]["all"]["p50"] > 0
    mem = report["memory"]
    assert mem["rss_end_mb"] > 50 and len(mem["samples"]) >= 5 and mem["samples"][0][3] >= 2, mem["samples"][:3]
    assert "unexpected answers: 0" in proc.stdout
    with hardened.client(acc) as c:  # every image request is settled: charged if it succeeded, else refunded
        bal = c.get("/billing/credits").json()
        tasks = c.get("/api/v1/tasks", params={"limit": 100}).json()
    assert bal["reserved"] == 0 or any(t["status"] in ("queued", "processing") for t in tasks["tasks"])
    assert before - bal["credits"] - bal["reserved"] == report["codes"]["good"].get("ok", 0)
