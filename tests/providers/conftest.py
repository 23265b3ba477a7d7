"""Real upstreams on loopback for the provider suite, one of each kind, started once per session.

- ``bgremover``: a second ``bgremover serve`` (its own SQLite, an account with a key and credits);
- ``removebg``: the remove.bg-protocol test server (``removebg_server.py``) on our real pipeline;
- ``rembg``: ``rembg s`` from the peer venv, on our verified u2netp weights, every other network refused.
Each fixture yields an :class:`Upstream`: the providers-file table that points at it.
"""
from __future__ import annotations

import io
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import require
from db_fixtures import db  # noqa: F401  (a pytest fixture: the task-run tests' database)
from PIL import Image
from providers.fault_server import FaultServer
from web.dashboard.conftest import browser  # noqa: F401  (a pytest fixture: Chromium for the admin page)
from web.images import photo_bytes
from web.service_process import ServiceProcess, embedded_env, free_port

FAST = "bg-remover-fast"  # u2netp
PHOTO_SIZE = (640, 420)  # over remove.bg's 0.25 MP preview, so a preview-sized answer would show
WORKER_PY = Path(__file__).resolve().parents[2] / "src" / "bgremover" / "benchmark" / "worker.py"


@dataclass
class Upstream:
    name: str
    table: dict[str, Any]  # [providers.NAME] of the providers file
    env: dict[str, str] = field(default_factory=dict)  # the key's environment variable
    has_keys: bool = True


@pytest.fixture(scope="session")
def photo() -> bytes:
    return photo_bytes(PHOTO_SIZE)


@pytest.fixture(scope="session")
def cutout(remover: Any, photo: bytes) -> bytes:
    """A valid RGBA cut-out of ``photo`` (our real pipeline's), for the fault servers to answer."""
    return remover.remove(photo, model=FAST, format="png").data


def png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def fault(cutout: bytes) -> Iterator[FaultServer]:
    """A fault server (``fault_server.py``) in ok mode, with the wrong-size and alpha-less answers ready."""
    server = FaultServer(cutout=cutout, wrong_size=png((PHOTO_SIZE[0] // 2, PHOTO_SIZE[1] // 2)),
                         no_alpha=png(PHOTO_SIZE, "RGB")).start()
    yield server
    server.stop()


@pytest.fixture
def spare(cutout: bytes) -> Iterator[FaultServer]:
    """A second upstream that answers the good cut-out: the provider a failing first one fails over to."""
    server = FaultServer(cutout=cutout).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bgremover_upstream(remover: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    root = tmp_path_factory.mktemp("upstream-bgremover")
    env = embedded_env(root / "data", BGREMOVER_DEFAULT_MODEL=FAST, BGREMOVER_RATE_LIMIT_PER_MINUTE="100000",
                       BGREMOVER_MAX_TASKS_IN_FLIGHT="1000")
    svc = ServiceProcess(mode="upstream", env=env, data_dir=root / "data", log_path=root / "serve.log",
                         args=["--workers", "1"])
    svc.start()
    try:
        account = svc.new_account(1000)
        yield Upstream("bgremover", {"kind": "bgremover", "url": svc.base_url, "api_key_env": "UP_BGREMOVER_KEY",
                                     "timeout_s": 60, "max_concurrency": 2, "cost_per_image": 0.5},
                       {"UP_BGREMOVER_KEY": account.key})
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def removebg_upstream(remover: Any) -> Iterator[Upstream]:
    from providers.removebg_server import RemoveBgServer

    key = secrets.token_urlsafe(16)
    server = RemoveBgServer(remover, key).start()
    try:
        yield Upstream("removebg", {"kind": "removebg", "url": server.url, "api_key_env": "UP_REMOVEBG_KEY",
                                    "timeout_s": 60, "max_concurrency": 2, "cost_per_image": 2.0},
                       {"UP_REMOVEBG_KEY": key})
    finally:
        server.stop()


@pytest.fixture(scope="session")
def rembg_upstream(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    from bgremover.benchmark import peer_rembg

    venv = peer_rembg.default_venv()
    require(peer_rembg.venv_ready(venv) and (venv / "bin" / "rembg").is_file(),
            f"the rembg peer venv is not built at {venv} (bgremover.benchmark.peer_rembg.ensure_venv builds it)")
    root = tmp_path_factory.mktemp("upstream-rembg")
    home = peer_rembg.prepare_home(model_dir, root / "u2net-home", ["u2netp"])
    env = {**peer_rembg.rembg_env(home), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    port = free_port()
    log = open(root / "rembg.log", "wb")  # noqa: SIM115 - open while rembg runs, closed below
    proc = subprocess.Popen([str(peer_rembg.venv_python(venv)), str(Path(__file__).with_name("rembg_launch.py")),
                             str(WORKER_PY), str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rembg s exited: {(root / 'rembg.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("rembg s did not answer in 180 s")
            time.sleep(0.5)
        yield Upstream("rembg", {"kind": "rembg", "url": url, "timeout_s": 120, "max_concurrency": 2,
                                 "cost_per_image": 0.1, "models": {FAST: "u2netp"}}, has_keys=False)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session", params=["bgremover", "removebg", "rembg"])
def upstream(request: pytest.FixtureRequest) -> Upstream:
    """The contract suite runs once per kind of real upstream (as one storage mixin runs over every storage)."""
    return request.getfixturevalue(f"{request.param}_upstream")


def env_with(*upstreams: Upstream) -> dict[str, str]:
    env = dict(os.environ)
    for u in upstreams:
        env.update(u.env)
    return env
