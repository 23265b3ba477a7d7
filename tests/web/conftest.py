"""The API under test: one real ``bgremover serve`` per mode for the session, and a local image server.

``service`` is parametrised over the modes "embedded" and "scaleout" (PostgreSQL + Redis, issue 5): the
same tests run against both; only the environment of the server differs.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import require
from db_fixtures import db  # noqa: F401  (a pytest fixture: test_task_watch.py runs on both databases)
from web.images import ImageServer, bomb_bytes, photo_bytes
from web.service_process import ServiceProcess, embedded_env

# Settings shared by every mode: short lease (crash test), small limits (failure tests), high rate limits.
COMMON = {
    "BGREMOVER_TASK_LEASE_S": "3",
    "BGREMOVER_FETCH_TIMEOUT_S": "4",
    "BGREMOVER_FETCH_MIN_BYTES_PER_S": "0",  # tests trickle a 1 KB photo over seconds to hold a task in a stage
    "BGREMOVER_MAX_IMAGE_BYTES": str(1_000_000),
    "BGREMOVER_RATE_LIMIT_PER_MINUTE": "100000",
    "BGREMOVER_READ_RATE_LIMIT_PER_MINUTE": "1000000",
    "BGREMOVER_MAX_TASKS_IN_FLIGHT": "1000",
    "BGREMOVER_MAX_QUEUE_DEPTH": "1000",
}
FAST = "bg-remover-fast"  # u2netp; tests that are not about the model use it


def _start(mode: str, root: Path) -> tuple[ServiceProcess, Callable[[], None]]:
    """The server of one mode, and what to clean up after it has stopped.

    embedded: SQLite, Huey on SQLite, result files. scaleout: PostgreSQL (a schema of its own, migrated by
    ``bgremover db upgrade``), Huey on Redis (a key prefix of its own), result bytes in PostgreSQL.
    """
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if mode == "embedded":
        env = embedded_env(root / "data", **COMMON)
    elif mode == "scaleout":
        from scaleout.cluster import scaleout_service_env

        env, cleanup = scaleout_service_env(root, **COMMON)
    else:
        raise ValueError(mode)
    svc = ServiceProcess(mode=mode, env=env, data_dir=root / "data", log_path=root / "serve.log",
                         args=["--workers", "2"])
    try:
        return svc.start(), cleanup
    except BaseException:
        svc.stop()
        cleanup()
        raise


@pytest.fixture(scope="session", params=["embedded", pytest.param("scaleout", marks=pytest.mark.scaleout)])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    from bgremover.config import load_settings
    from bgremover.pipeline.remover import Remover

    registry = Remover(load_settings()).registry
    require(registry.is_available("u2netp"), "u2netp is not fetched (run: bgremover models fetch u2netp)")
    svc, cleanup = _start(request.param, tmp_path_factory.mktemp(f"service-{request.param}"))
    yield svc
    svc.stop()
    cleanup()


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
