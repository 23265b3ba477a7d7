"""The API under test: one real ``bgremover serve`` per mode for the session, and a local image server.

To run the suite in another mode (issue 5: PostgreSQL + Redis), add a param to ``service`` that builds
its environment; the tests themselves do not change.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require
from web.images import ImageServer, bomb_bytes, photo_bytes
from web.service_process import ServiceProcess, embedded_env

# Settings shared by every mode: short lease (crash test), small limits (failure tests), high rate limits.
COMMON = {
    "BGREMOVER_TASK_LEASE_S": "3",
    "BGREMOVER_FETCH_TIMEOUT_S": "4",
    "BGREMOVER_MAX_IMAGE_BYTES": str(1_000_000),
    "BGREMOVER_RATE_LIMIT_PER_MINUTE": "100000",
    "BGREMOVER_MAX_TASKS_IN_FLIGHT": "1000",
    "BGREMOVER_MAX_QUEUE_DEPTH": "1000",
}
FAST = "bg-remover-fast"  # u2netp; tests that are not about the model use it


def _start(mode: str, root: Path) -> ServiceProcess:
    if mode == "embedded":
        env = embedded_env(root / "data", **COMMON)
    else:  # pragma: no cover - added by the scale-out work
        raise ValueError(mode)
    svc = ServiceProcess(mode=mode, env=env, data_dir=root / "data", log_path=root / "serve.log",
                         args=["--workers", "2"])
    return svc.start()


@pytest.fixture(scope="session", params=["embedded"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    from bgremover.config import load_settings
    from bgremover.pipeline.remover import Remover

    registry = Remover(load_settings()).registry
    require(registry.is_available("u2netp"), "u2netp is not fetched (run: bgremover models fetch u2netp)")
    svc = _start(request.param, tmp_path_factory.mktemp(f"service-{request.param}"))
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def images() -> Iterator[ImageServer]:
    with ImageServer() as srv:
        srv.files.update({
            "photo.jpg": photo_bytes((96, 64)),
            "photo.png": photo_bytes((80, 120), "PNG"),
            "notes.txt": b"these are not the pixels you are looking for\n" * 20,
            "truncated.jpg": photo_bytes((200, 160))[:600],
            "bomb.png": bomb_bytes(),
            "huge.bin": photo_bytes((64, 64))[:200] + b"\0" * 1_200_000,
        })
        yield srv


@pytest.fixture
def account(service: ServiceProcess):
    return service.new_account(10)
