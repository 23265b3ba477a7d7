"""RFC 6750 §3: every 401 to an API-key request carries a Bearer challenge, so a client (or a proxy) learns
which scheme to use; ``error="invalid_token"`` only when a key was sent, none when no credentials were.

Driven in-process (``create_app``), so it needs no model and no server; the real server's every key route is
covered by tests/hardening/test_auth_table.py.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from bgremover.config import load_settings
from bgremover.service.accounts import create_account
from bgremover.service.keys import create_key, revoke_key
from bgremover.store.migrate import upgrade
from bgremover.web.app import create_app

CHALLENGE = 'Bearer realm="bgremover"'
INVALID_TOKEN = 'Bearer realm="bgremover", error="invalid_token"'
ROUTE = "/billing/credits"


@dataclass
class Api:
    client: TestClient
    live_key: str
    revoked_key: str


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    settings = load_settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    state = app.state.bg
    account = create_account(state.db, email="bearer@example.com")
    _, live_key = create_key(state.db, state.secret, account_id=account.id)
    revoked, revoked_key = create_key(state.db, state.secret, account_id=account.id)
    revoke_key(state.db, key_id=revoked.id)
    with TestClient(app) as client:
        yield Api(client, live_key, revoked_key)
    state.db.dispose()


def _refused(r) -> str:
    """The challenge of a 401 whose body is the usual envelope, unchanged by the header."""
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
    return r.headers.get("www-authenticate", "<missing>")


WITHOUT_CREDENTIALS = {
    "no Authorization header": {},
    "another scheme": {"Authorization": "Basic Zm9vOmJhcg=="},
    "Bearer without a token": {"Authorization": "Bearer"},
}


@pytest.mark.parametrize("headers", WITHOUT_CREDENTIALS.values(), ids=WITHOUT_CREDENTIALS.keys())
def test_a_request_without_a_key_gets_the_challenge_without_an_error(api, headers):
    r = api.client.get(ROUTE, headers=headers)
    assert _refused(r) == CHALLENGE
    assert "missing API key" in r.json()["error"]["message"]


def test_a_wrong_key_is_an_invalid_token(api):
    wrong = "aio_" + secrets.token_urlsafe(32)
    assert _refused(api.client.get(ROUTE, headers={"Authorization": f"Bearer {wrong}"})) == INVALID_TOKEN


def test_a_malformed_key_is_an_invalid_token(api):
    assert _refused(api.client.get(ROUTE, headers={"Authorization": "Bearer not-a-key"})) == INVALID_TOKEN


def test_a_revoked_key_is_an_invalid_token(api):
    assert _refused(api.client.get(ROUTE, headers={"Authorization": f"Bearer {api.revoked_key}"})) == INVALID_TOKEN


def test_a_wrong_x_api_key_is_an_invalid_token_too(api):
    """remove.bg-style clients send the key in X-API-Key; it is still a token, and still the Bearer scheme's."""
    wrong = "aio_" + secrets.token_urlsafe(32)
    assert _refused(api.client.get(ROUTE, headers={"X-API-Key": wrong})) == INVALID_TOKEN


def test_the_message_is_unchanged_by_the_challenge(api):
    r = api.client.get(ROUTE, headers={"Authorization": f"Bearer {api.revoked_key}"})
    assert r.json() == {"error": {"code": "unauthorized", "message": "unknown or revoked API key"}}


def test_a_live_key_gets_no_challenge(api):
    r = api.client.get(ROUTE, headers={"Authorization": f"Bearer {api.live_key}"})
    assert r.status_code == 200 and "www-authenticate" not in r.headers


def test_a_result_download_without_key_or_signature_gets_the_challenge(api):
    r = api.client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000/result")
    assert _refused(r) == CHALLENGE


def test_metrics_keeps_its_own_realm(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", metrics_token="t" * 32)
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    try:
        with TestClient(app) as c:
            assert _refused(c.get("/metrics")) == 'Bearer realm="metrics"'
    finally:
        app.state.bg.db.dispose()


def test_openapi_documents_the_challenge_on_every_401(api):
    schema = api.client.get("/openapi.json").json()
    documented = {(method, path): op["responses"]["401"] for path, item in schema["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "401" in op.get("responses", {})}
    assert ("post", "/api/v1/images/tools/remove-bg") in documented and ("get", "/billing/credits") in documented
    for where, response in documented.items():
        header = response.get("headers", {}).get("WWW-Authenticate")
        assert header and header["required"] is True, f"{where}: 401 without a documented WWW-Authenticate"
    assert 'realm="bgremover"' in documented[("get", "/billing/credits")]["headers"]["WWW-Authenticate"]["description"]
    assert 'realm="metrics"' in documented[("get", "/metrics")]["headers"]["WWW-Authenticate"]["description"]


def test_x_api_key_is_a_documented_alternative_to_bearer(api):
    """remove.bg's clients send ``X-API-Key``; it works and /openapi.json says so beside the Bearer scheme."""
    assert api.client.get(ROUTE, headers={"X-API-Key": api.live_key}).status_code == 200
    schema = api.client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["X-API-Key"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                    "description": schemes["X-API-Key"]["description"]}
    for path, method in (("/api/v1/images/tools/remove-bg", "post"), ("/billing/credits", "get"),
                         ("/api/v1/tasks/{task_id}", "get")):
        alternatives = schema["paths"][path][method]["security"]
        assert {"HTTPBearer": []} in alternatives and {"X-API-Key": []} in alternatives, (path, alternatives)
