"""A real ``bgremover serve`` for the hardening tests (1 worker, u2netp preset, short lease), and helpers.

Fault tests that need a server of their own (a broken model dir, a tiny result disk) start it themselves
with :func:`start_service`, from the same settings plus their own.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require
from web.images import ImageServer, photo_bytes
from web.service_process import ServiceProcess, embedded_env

# fp32 u2netp: these tests are about the service, not the model. They copy and corrupt u2netp.onnx itself, and the
# encode-kill test needs fp32's large cut-out of a noise photo (the int8 copy cuts most of the noise away).
FAST = "bg-remover-fast-fp32"
HARDENING_ENV = {
    "BGREMOVER_TASK_LEASE_S": "3",
    "BGREMOVER_FETCH_TIMEOUT_S": "4",
    "BGREMOVER_RATE_LIMIT_PER_MINUTE": "100000",
    "BGREMOVER_READ_RATE_LIMIT_PER_MINUTE": "1000000",
    "BGREMOVER_MAX_TASKS_IN_FLIGHT": "1000",
    "BGREMOVER_MAX_QUEUE_DEPTH": "1000",
    "BGREMOVER_DEFAULT_MODEL": FAST,
}


def require_u2netp() -> None:
    from bgremover.config import load_settings
    from bgremover.pipeline.remover import Remover

    require(Remover(load_settings()).registry.is_available("u2netp"),
            "u2netp is not fetched (run: bgremover models fetch u2netp)")


def start_service(root: Path, *, workers: int = 1, **env: str) -> ServiceProcess:
    root.mkdir(parents=True, exist_ok=True)
    svc = ServiceProcess(mode="embedded", env=embedded_env(root / "data", **{**HARDENING_ENV, **env}),
                         data_dir=root / "data", log_path=root / "serve.log",
                         args=["--workers", str(workers)] if workers else ["--api-only"])
    return svc.start()


@pytest.fixture(scope="session")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The shared server. Tests must leave it answering (the fault tests check that they do)."""
    require_u2netp()
    svc = start_service(tmp_path_factory.mktemp("hardened"))
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageServer]:
    with ImageServer() as srv:
        srv.files.update({"photo.jpg": photo_bytes((96, 64)), "notes.txt": b"not an image\n" * 10})
        yield srv
