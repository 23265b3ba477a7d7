"""The atheris harnesses in fuzz/ run clean for a few seconds each: no exception other than our typed errors.

The long runs (minutes, figures in docs/reliability.md) use the same harnesses; here each one gets a fresh
seeded corpus and a fixed budget, so a regression that makes the decoder or the URL validator crash on
some input is likely to show up in CI, and always shows up in the long run.
"""
from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, require

HARNESSES = ["decode_image_fuzz.py", "url_policy_fuzz.py"]
SECONDS = 2


def rss_limit_mb(budget_mb: int = 2048) -> int:
    """libFuzzer reads the peak RSS of its process, and Linux carries the peak across fork and exec: a harness
    started from a pytest process that already holds 2 GB (models, int8 builds) would "run out of memory" at once.
    So the budget is on top of this process's own peak."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak_kb // 1024 + budget_mb


@pytest.mark.parametrize("harness", HARNESSES)
def test_harness_runs_clean(harness: str, tmp_path: Path) -> None:
    require(importlib.util.find_spec("atheris") is not None, "atheris is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, str(ROOT / "fuzz" / harness), f"-max_total_time={SECONDS}",
                           f"-rss_limit_mb={rss_limit_mb()}", "-timeout=10", "-seed=1", f"-artifact_prefix={tmp_path}/",
                           str(tmp_path / "corpus")],
                          capture_output=True, text=True, timeout=SECONDS + 60, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{harness} found a crash:\n{out[-4000:]}"
    runs = [line for line in out.splitlines() if line.startswith("Done ")]
    assert runs and int(runs[-1].split()[1]) > 100, f"the harness hardly ran:\n{out[-2000:]}"


def test_harness_reports_a_crash(tmp_path: Path) -> None:
    """The wiring can fail: a harness whose check raises an untyped error exits non-zero with the traceback."""
    require(importlib.util.find_spec("atheris") is not None, "atheris is not installed (pip install -e '.[test]')")
    broken = tmp_path / "broken_fuzz.py"
    broken.write_text(
        "import sys, atheris\n"
        "def check(data):\n"
        "    if data[:1] == b'B':\n"
        "        raise KeyError('untyped')\n"
        "atheris.Setup(sys.argv, check)\natheris.Fuzz()\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(b"B")
    proc = subprocess.run([sys.executable, str(broken), "-runs=10", f"-artifact_prefix={tmp_path}/", str(corpus)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0 and "KeyError" in proc.stdout + proc.stderr


# Inputs the long runs found (base64 of the raw fuzzer bytes), replayed on every run. See docs/reliability.md.
FOUND = {
    "url_policy_fuzz.py": [
        "w2h0dHA6Ly+3sC4uLi4w",  # http://70....  parsed as host name '70', its normal form as IPv4 0.0.0.70
        "w2h0dHA6Ly9ldHRwOi8vLWF0YW0hfX19fX19fX19fX19fUB9fX19fX19fX19fX19fX19fX19fX19fX19fX19fX19fXA6Ly9ldH19fX19c319"
        "fX19fX19fX19fX19fX19fXBstzA=",  # '@' in the path (the harness's own mistake, kept as a case)
    ],
}


@pytest.mark.parametrize("harness,b64", [(h, b) for h, cases in FOUND.items() for b in cases])
def test_inputs_found_by_long_runs_stay_fixed(harness: str, b64: str, tmp_path: Path) -> None:
    import base64

    require(importlib.util.find_spec("atheris") is not None, "atheris is not installed (pip install -e '.[test]')")
    case = tmp_path / "case"
    case.write_bytes(base64.b64decode(b64))
    proc = subprocess.run([sys.executable, str(ROOT / "fuzz" / harness), f"-artifact_prefix={tmp_path}/", str(case)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
