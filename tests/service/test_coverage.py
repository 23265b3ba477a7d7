"""Coverage: each model's route with each provider's health over the last hour, read from the attempts the
task run records on each task, on SQLite and PostgreSQL.

The rows are real tasks (submitted through the service) finished with the columns the task run writes when it
routes: ``provider``, ``attempts_json`` (the router's Attempt records), ``upstream_latency_s``."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from bgremover.providers import parse_providers
from bgremover.service.coverage import (
    DEGRADED,
    DOWN,
    HEALTHY,
    NO_TRAFFIC,
    coverage,
    provider_health,
)
from bgremover.store.tables import tasks, utcnow

from .helpers import make_account, settings_for, submit

MODELS = ["bg-remover-fast", "bg-remover", "bg-remover-hq"]
CONFIG = parse_providers({
    "providers": {
        "gpu-box": {"kind": "rembg", "url": "http://127.0.0.1:9000", "pinnable": True},
        "spare": {"kind": "rembg", "url": "http://127.0.0.1:9001"},
    },
    "routes": {"bg-remover": ["gpu-box", "spare", "local"], "bg-remover-hq": ["spare"]},
}, fetch_allowlist=["127.0.0.1/32"], known_models=MODELS)


def attempt(provider: str, outcome: str, latency_s: float = 0.0, reason: str | None = None) -> dict:
    return {"provider": provider, "outcome": outcome, "reason": reason, "latency_s": latency_s, "cost": 0.0}


@pytest.fixture
def finish(db, tmp_path):
    """Finish a new task ``ago`` before now with these attempts, as the task run records them."""
    account = make_account(db, amount=1000)
    settings = settings_for(tmp_path, max_tasks_in_flight=1000)  # tasks finished by hand keep their slot

    def _finish(attempts: list[dict], *, ago: timedelta = timedelta(minutes=5), model: str = "bg-remover") -> str:
        task, _created = submit(db, tmp_path, account, model=model, settings=settings)
        served = next((a for a in attempts if a["outcome"] == "succeeded"), None)
        with db.write() as conn:
            conn.execute(update(tasks).where(tasks.c.id == task.id).values(
                status="succeeded" if served else "failed", finished_at=utcnow() - ago,
                provider=served["provider"] if served else None, attempts_json=json.dumps(attempts),
                upstream_latency_s=served["latency_s"] if served else None))
        return task.id

    return _finish


def test_a_model_without_a_route_runs_here_and_quiet_providers_say_no_traffic(db) -> None:
    routes = coverage(db, CONFIG, MODELS)
    assert [(s.name, s.kind) for s in routes["bg-remover-fast"]] == [("local", "local")]
    assert [s.name for s in routes["bg-remover"]] == ["gpu-box", "spare", "local"]  # the order they are tried
    assert [s.pinnable for s in routes["bg-remover"]] == [True, False, False]
    quiet = routes["bg-remover"][0].health
    assert (quiet.state, quiet.attempts, quiet.success_rate, quiet.p50_latency_s) == (NO_TRAFFIC, 0, None, None)


def test_success_rate_and_median_latency_over_the_last_hour(db, finish) -> None:
    for latency in (1.0, 2.0, 3.0, 4.0):
        finish([attempt("gpu-box", "succeeded", latency)])
    finish([attempt("gpu-box", "failed", 60.0, "timeout"), attempt("spare", "succeeded", 0.5)])
    finish([attempt("gpu-box", "succeeded", 100.0)], ago=timedelta(minutes=61))  # outside the hour
    health = provider_health(db)
    gpu = health["gpu-box"]
    assert (gpu.attempts, gpu.succeeded, gpu.success_rate) == (5, 4, 0.8)
    assert gpu.p50_latency_s == 2.5  # of the successes: a timeout's 60 s is not a latency
    assert gpu.state == DEGRADED  # under 95 %
    assert (health["spare"].state, health["spare"].success_rate, health["spare"].p50_latency_s) == (HEALTHY, 1.0, 0.5)
    routes = coverage(db, CONFIG, MODELS)
    assert routes["bg-remover-hq"][0].health == health["spare"]  # one health per provider, on every route


def test_failures_in_a_row_mark_a_provider_down_and_a_success_brings_it_back(db, finish) -> None:
    for _ in range(20):
        finish([attempt("gpu-box", "succeeded", 1.0)], ago=timedelta(minutes=30))
    for minutes in (5, 4, 3, 2, 1):  # the five newest attempts failed: the breaker would be open
        finish([attempt("gpu-box", "failed", 1.0, "server_error"), attempt("spare", "succeeded", 1.0)],
               ago=timedelta(minutes=minutes))
    health = provider_health(db, failures_to_open=5)
    assert health["gpu-box"].success_rate == 0.8 and health["gpu-box"].state == DOWN  # 80 %, yet down now
    assert provider_health(db, failures_to_open=6)["gpu-box"].state == DEGRADED
    finish([attempt("gpu-box", "succeeded", 1.0)], ago=timedelta(seconds=10))  # the half-open probe succeeded
    assert provider_health(db)["gpu-box"].state == DEGRADED


def test_a_skip_for_an_open_breaker_is_down_and_a_client_error_says_nothing(db, finish) -> None:
    finish([attempt("gpu-box", "succeeded", 1.0)], ago=timedelta(minutes=9))
    finish([attempt("gpu-box", "skipped", 0.0, "breaker_open"), attempt("spare", "succeeded", 1.0)])
    finish([attempt("spare", "client_error", 0.1, "invalid_image")], ago=timedelta(minutes=1))
    health = provider_health(db)
    assert health["gpu-box"].state == DOWN and health["gpu-box"].attempts == 1  # a skip is no attempt
    assert health["spare"].attempts == 1 and health["spare"].state == HEALTHY  # the client's image is not its fault


def test_a_provider_that_only_failed_is_down_and_tasks_without_attempts_are_left_out(db, finish, tmp_path) -> None:
    finish([attempt("spare", "failed", 0.2, "bad_result"), attempt("local", "succeeded", 0.7)])
    account = make_account(db)
    old, _created = submit(db, tmp_path, account)  # finished before routing was recorded: no attempts_json
    with db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.id == old.id).values(status="succeeded", finished_at=utcnow()))
    garbled = finish([])
    with db.write() as conn:  # a row whose attempts are not JSON is skipped, not a 500
        conn.execute(update(tasks).where(tasks.c.id == garbled).values(attempts_json="{not json"))
    health = provider_health(db)
    assert set(health) == {"spare", "local"}
    assert health["spare"].state == DOWN and health["local"].p50_latency_s == 0.7
