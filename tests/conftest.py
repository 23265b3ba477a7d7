"""Shared fixtures. Tests read as specifications; models in tests are u2netp unless a test is about another."""
from __future__ import annotations

import os
import time
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


@pytest.fixture(scope="session")
def u2netp_wheel() -> Path:
    """The real u2netp wheel: from the package cache `make test-models` fills (MODEL_DIR/.packages), or from a
    download cache named by BGREMOVER_TEST_PACKAGE_DIR (default /tmp/pkgcache) when the model was installed by hand."""
    from bgremover.inference.catalog import load_catalog
    from bgremover.inference.packages import PACKAGE_CACHE

    artifact = load_catalog().model("u2netp").source.artifact
    extra = Path(os.environ.get("BGREMOVER_TEST_PACKAGE_DIR", "/tmp/pkgcache"))
    for p in (load_settings().model_dir / PACKAGE_CACHE / artifact, extra / artifact):
        if p.is_file():
            return p
    require(False, "the u2netp wheel is not cached (run: bgremover models fetch u2netp)")
    raise AssertionError


@pytest.fixture
def fresh_rate_window() -> None:
    """Rate limits count per fixed minute: a test that counts requests up to a limit starts early in a minute,
    so that the window cannot roll over (and reset the count) between its requests."""
    left = 60 - time.time() % 60
    if left < 12:
        time.sleep(left + 0.2)
