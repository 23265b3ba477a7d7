"""The gates CI runs with the suite: ruff over the sources and tests, mypy (strict on the core packages), both
configured in pyproject.toml. A lint or type error fails `make test` like a failing test."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(tool, path=str(Path(sys.executable).parent)) is None and shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


def test_ruff_finds_nothing() -> None:
    res = _run("ruff", "check", "src", "tests")
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_strictly_typed_packages() -> None:
    res = _run("mypy")
    assert res.returncode == 0, res.stdout + res.stderr
