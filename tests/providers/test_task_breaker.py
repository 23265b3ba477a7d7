"""The circuit breaker as the task run lives it, and as ``/metrics`` shows it: enough failing tasks open it,
the tasks after that skip the provider without calling it, a probe after the cool-down goes through (a failed
one opens it again, a good one closes it), and every task stays final and charged exactly once throughout.

The breakers live in each worker process; the API exports the view every process shares, computed from the
attempts recorded on the tasks (``service/coverage.py``), as ``bgremover_provider_health{provider,state}``."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service.helpers import RecordingQueue

from bgremover.config import load_settings
from bgremover.service.processing import run_task
from bgremover.service.tasks import get_task
from bgremover.store.migrate import upgrade
from bgremover.web.app import create_app
from providers.fault_server import FaultServer
from providers.routing import ALLOW, FAST, rembg_table
from providers.task_run import COST, CREDITS, attempts, books, routed_context, submitted

BREAKER = {"provider_breaker_failures": 2, "provider_breaker_cooldown_s": 1.0}
SERVED_BY_SPARE = [("up", "failed", "server_error"), ("spare", "succeeded", None)]
SKIPPED = [("up", "skipped", "breaker_open"), ("spare", "succeeded", None)]


def run(ctx: Any, db: Any, tmp_path: Path, photo: bytes) -> list[tuple[str, str, str | None]]:
    """One task through the worker's task run: final, charged exactly once; its attempts."""
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    assert get_task(db, task_id).status == "succeeded"
    assert books(db, account, task_id) == (CREDITS - COST, {"reserve": 1, "charge": 1})
    return attempts(db, task_id)


def cool_down() -> None:
    time.sleep(BREAKER["provider_breaker_cooldown_s"] + 0.1)


def test_failing_tasks_open_the_breaker_later_tasks_skip_the_provider_and_a_good_probe_closes_it(
        db, tmp_path, fault: FaultServer, spare: FaultServer, photo: bytes) -> None:
    fault.mode = "500"
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url), "spare": rembg_table(spare.url)},
                         ["up", "spare"], **BREAKER)
    breaker = ctx.producer.router.breaker("up")
    assert [run(ctx, db, tmp_path, photo) for _ in range(2)] == [SERVED_BY_SPARE] * 2
    assert breaker.state == "open"
    assert run(ctx, db, tmp_path, photo) == SKIPPED
    assert fault.requests == 2, "no request while the breaker is open"
    cool_down()
    assert run(ctx, db, tmp_path, photo) == SERVED_BY_SPARE, "one probe after the cool-down; it fails"
    assert breaker.state == "open" and fault.requests == 3
    assert run(ctx, db, tmp_path, photo) == SKIPPED, "open again for another cool-down"
    fault.mode = "ok"
    cool_down()
    assert run(ctx, db, tmp_path, photo) == [("up", "succeeded", None)], "the probe succeeds"
    assert breaker.state == "closed"
    assert run(ctx, db, tmp_path, photo) == [("up", "succeeded", None)]
    assert (fault.requests, spare.requests) == (5, 5)


PROVIDERS_FILE = """
[providers.up]
kind = "rembg"
url = "{up}"
timeout_s = 10
max_concurrency = 4
cost_per_image = 1.0

[providers.spare]
kind = "rembg"
url = "{spare}"
timeout_s = 10
max_concurrency = 4
cost_per_image = 1.0

[routes]
{model} = ["up", "spare"]
"""


@pytest.fixture
def app_client(tmp_path: Path, fault: FaultServer, spare: FaultServer) -> Iterator[TestClient]:
    """Our API (``create_app``) with a providers file that routes the fast model to [up, spare]."""
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS_FILE.format(up=fault.url, spare=spare.url, model=FAST))
    settings = load_settings(data_dir=tmp_path / "data", providers=path, fetch_allow_networks=",".join(ALLOW),
                             **BREAKER)
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    app = create_app(settings, queue=RecordingQueue())
    with TestClient(app) as client:
        yield client
    app.state.bg.db.dispose()


def health(client: TestClient) -> dict[str, str]:
    """Each provider's current state, as scraped from ``/metrics``; every state has its series."""
    text = client.get("/metrics").text
    series = re.findall(r'^bgremover_provider_health\{provider="([^"]+)",state="([^"]+)"\} (\S+)$', text, re.M)
    by_provider: dict[str, dict[str, float]] = {}
    for provider, state, value in series:
        by_provider.setdefault(provider, {})[state] = float(value)
    for states in by_provider.values():
        assert sorted(states) == ["degraded", "down", "healthy", "no traffic"] and sum(states.values()) == 1
    return {p: next(s for s, v in states.items() if v == 1) for p, states in by_provider.items()}


def test_metrics_show_a_provider_down_once_tasks_opened_its_breaker_and_not_after_a_good_probe(
        app_client: TestClient, tmp_path: Path, fault: FaultServer, spare: FaultServer, photo: bytes) -> None:
    assert health(app_client) == {"local": "no traffic", "spare": "no traffic", "up": "no traffic"}
    db = app_client.app.state.bg.db  # type: ignore[attr-defined]
    fault.mode = "500"
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url), "spare": rembg_table(spare.url)},
                         ["up", "spare"], **BREAKER)
    assert run(ctx, db, tmp_path, photo) == SERVED_BY_SPARE
    assert health(app_client)["up"] == "down", "every attempt in the hour failed"
    run(ctx, db, tmp_path, photo)
    assert run(ctx, db, tmp_path, photo) == SKIPPED
    assert health(app_client) == {"local": "no traffic", "spare": "healthy", "up": "down"}
    fault.mode = "ok"
    cool_down()
    assert run(ctx, db, tmp_path, photo) == [("up", "succeeded", None)]
    assert health(app_client)["up"] == "degraded", "closed again: 1 of its 3 attempts in the hour succeeded"
