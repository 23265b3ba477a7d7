"""Shared fixtures. Tests read as specifications; models in tests are u2netp unless a test is about another."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bgremover.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Missing infrastructure: fail loudly in CI, skip with the reason elsewhere."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Engine settings with an isolated data dir; models come from the shared model cache."""
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return load_settings().model_dir


@pytest.fixture(scope="session")
def remover():
    """One Remover for the session (sessions are loaded once), with u2netp required."""
    from bgremover import Remover

    r = Remover(load_settings())
    require(r.registry.is_available("u2netp"), "u2netp is not fetched (run: bgremover models fetch u2netp)")
    return r


@pytest.fixture(scope="session")
def dev_set() -> Path:
    """The real evaluation set beside the project; never copied into it (evaluation-only terms)."""
    if not (DEV_SET / "manifest.json").is_file():
        pytest.skip(f"evaluation set not present at {DEV_SET}")
    return DEV_SET
