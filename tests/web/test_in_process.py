"""The app from ``create_app(settings)`` driven in-process (no server, no worker): for behaviour that depends on
a setting, where a real server per setting would be slow, and for answers the framework itself produces."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from bgremover.config import load_settings
from bgremover.store.migrate import upgrade
from bgremover.web.app import create_app

TOKEN = "metrics-" + "s3cr3t" * 6
UNKNOWN_KEY = {"Authorization": "Bearer aio_" + "0" * 40}  # well-formed, so it is looked up in the database


@pytest.fixture
def client_with(tmp_path) -> Iterator[Callable[..., TestClient]]:
    """``client_with(**settings)``: a client of a freshly migrated embedded app with those settings."""
    apps = []

    def make(**overrides: object) -> TestClient:
        settings = load_settings(data_dir=tmp_path / f"data{len(apps)}", **overrides)
        settings.data_dir.mkdir(parents=True)
        upgrade(settings.effective_database_url)
        app = create_app(settings)
        apps.append(app)
        return TestClient(app)

    yield make
    for app in apps:
        app.state.bg.db.dispose()


def _error_code(r) -> str:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]["code"]


def test_405_names_the_allowed_methods_in_the_envelope(client_with):
    """RFC 9110: a 405 carries ``Allow``; our error handler must keep the header Starlette puts on it."""
    with client_with() as c:
        r = c.put("/api/v1/images/tools/remove-bg", json={})
    assert r.status_code == 405
    assert "POST" in [m.strip() for m in r.headers["allow"].split(",")]
    assert _error_code(r) == "method_not_allowed"


def test_metrics_are_public_without_a_token(client_with):
    with client_with() as c:
        r = c.get("/metrics")
    assert r.status_code == 200 and "bgremover_queue_depth" in r.text


def test_metrics_token_is_required_when_set_and_never_echoed_or_logged(client_with, caplog):
    caplog.set_level(logging.DEBUG)
    with client_with(metrics_token=TOKEN) as c:
        refused = [c.get("/metrics"),
                   c.get("/metrics", headers={"Authorization": "Bearer wrong-" + TOKEN}),
                   c.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1]}),
                   c.get("/metrics", headers={"Authorization": "Basic " + TOKEN}),
                   c.get("/metrics", headers={"Authorization": ("Bearer " + TOKEN[:-1] + "é").encode()})]
        ok = c.get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
        lowercase_scheme = c.get("/metrics", headers={"Authorization": "bearer " + TOKEN})
        documented = c.get("/openapi.json").json()["paths"]["/metrics"]["get"]["responses"]
    for r in refused:
        assert r.status_code == 401 and _error_code(r) == "unauthorized"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in r.text
    assert ok.status_code == 200 and "bgremover_queue_depth" in ok.text
    assert lowercase_scheme.status_code == 200
    assert "401" in documented, "the schema-driven fuzzer and generated clients must know of the 401"
    assert TOKEN not in caplog.text


def test_health_and_readiness_stay_open_with_a_metrics_token(client_with):
    """Load balancers probe these without credentials."""
    with client_with(metrics_token=TOKEN) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code in (200, 503)  # 503 only when a model is not fetched here


@pytest.mark.scaleout
def test_a_request_that_finds_every_postgresql_connection_busy_gets_a_503_not_a_hang(tmp_path):
    """Past its pool and overflow a process waits ``db_pool_timeout_s`` for a connection, then answers 503
    ``service_unavailable`` with Retry-After: the client retries, PostgreSQL never sees more connections."""
    from scaleout.services import PgSchema, require_services

    require_services()
    schema = PgSchema()
    settings = load_settings(data_dir=tmp_path / "data", database_url=schema.url, db_pool_size=1,
                             db_max_overflow=0, db_pool_timeout_s=0.3)
    settings.data_dir.mkdir(parents=True)
    upgrade(schema.url)
    app = create_app(settings)
    try:
        with TestClient(app) as c:
            assert c.get("/billing/credits", headers=UNKNOWN_KEY).status_code == 401
            with app.state.bg.db.engine.connect():  # the process's only connection, held elsewhere
                r = c.get("/billing/credits", headers=UNKNOWN_KEY)
            assert r.status_code == 503 and _error_code(r) == "service_unavailable", r.text
            assert int(r.headers["retry-after"]) >= 1
            assert c.get("/billing/credits", headers=UNKNOWN_KEY).status_code == 401
    finally:
        app.state.bg.db.dispose()
        schema.drop()
