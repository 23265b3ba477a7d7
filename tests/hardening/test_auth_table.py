"""Auth on every route: a table built from the app's own routes × (no key, bad key, revoked key, another
account's key), against the real server.

Every route the app serves must be in exactly one of the three lists below; a new route that is in none
fails ``test_every_route_is_classified`` until someone decides who may call it.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bgremover.service.keys import revoke_key
from hardening.conftest import FAST
from web.service_process import Account, ServiceProcess, poll_task

# API-key routes: answer 401 without a valid key; another account's task answers 404 (never 403).
KEY_ROUTES = {("POST", "/api/v1/images/tools/remove-bg"), ("GET", "/api/v1/tasks"),
              ("GET", "/api/v1/tasks/{task_id}"), ("DELETE", "/api/v1/tasks/{task_id}"),
              ("GET", "/api/v1/tasks/{task_id}/result"), ("GET", "/billing/credits"), ("GET", "/billing/credits.csv")}
# remove.bg's protocol (web/removebg): the same API keys, sent in X-Api-Key, refused with remove.bg's 403 and error
# shape rather than our 401 challenge; tests/web/removebg/test_errors.py checks each without and with a bad key.
REMOVEBG_KEY_ROUTES = {("POST", "/v1.0/removebg"), ("GET", "/v1.0/account")}
# Browser routes behind a dashboard session (cookie): an API key does not open them.
SESSION_PREFIXES = ("/dashboard", "/console", "/logout")
# Open to anyone, on purpose: health, docs, the public model list, sign-in pages, static files, and the
# payment webhook (authenticated by its HMAC signature, tested in tests/web/dashboard/test_payment_webhook.py).
PUBLIC_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
                 ("GET", "/api/v1/models"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                 ("GET", "/login"), ("POST", "/login"), ("GET", "/signup"), ("POST", "/signup"),
                 ("GET", "/invite/{token}"), ("POST", "/invite/{token}"), ("GET", "/models"), ("GET", "/"),
                 ("GET", "/static"), ("GET", "/docs-assets"), ("POST", "/billing/webhooks/payment")}


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route, read from the application object itself (HEAD aside)."""
    import tempfile

    from bgremover.config import load_settings
    from bgremover.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings(data_dir=tmp))
        found = set()
        for route in _walk(app.routes):
            methods = getattr(route, "methods", None) or {"GET"}  # a Mount (static files) answers GET
            for m in methods - {"HEAD"}:
                found.add((m, route.path))
        app.state.bg.db.dispose()
    return found


def _walk(routes: list) -> Iterator:
    for r in routes:
        if hasattr(r, "effective_route_contexts"):  # FastAPI >= 0.120 keeps included routers nested
            yield from r.effective_route_contexts()
        else:
            yield r


ROUTES = sorted(app_routes())


def _classify(method: str, path: str) -> str:
    if (method, path) in KEY_ROUTES:
        return "key"
    if (method, path) in PUBLIC_ROUTES:
        return "public"
    if (method, path) in REMOVEBG_KEY_ROUTES:
        return "removebg-key"
    if path.startswith(SESSION_PREFIXES):
        return "session"
    return "unclassified"


def test_every_route_is_classified() -> None:
    unclassified = [r for r in ROUTES if _classify(*r) == "unclassified"]
    assert not unclassified, f"decide who may call these routes and add them to a list: {unclassified}"
    assert KEY_ROUTES | REMOVEBG_KEY_ROUTES <= set(ROUTES), f"routes gone: {KEY_ROUTES - set(ROUTES)}"


@dataclass
class Cast:
    owner: Account
    other: Account
    revoked: Account
    task_id: str  # the owner's succeeded task


@pytest.fixture(scope="module")
def cast(hardened: ServiceProcess, image_host) -> Cast:
    owner, other, revoked = (hardened.new_account(5) for _ in range(3))
    revoke_key(hardened.db, key_id=revoked.key_id)
    with hardened.client(owner) as c:
        r = c.post("/api/v1/images/tools/remove-bg", json={"image": image_host.url("photo.jpg"), "model": FAST})
        assert r.status_code == 202, r.text
        task = poll_task(c, r.json()["task_id"])
    assert task["status"] == "succeeded", task
    return Cast(owner, other, revoked, task["task_id"])


def _fill(path: str, cast: Cast) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: {"task_id": cast.task_id}.get(m.group(1), "1"), path)


def _call(svc: ServiceProcess, method: str, path: str, headers: dict[str, str], cast: Cast) -> httpx.Response:
    kw: dict = {}
    if method == "POST" and path.startswith("/api/"):
        kw["json"] = {"image": "http://127.0.0.1:9/x.jpg", "model": FAST}
    elif method == "POST":
        kw["data"] = {}
    with httpx.Client(base_url=svc.base_url, timeout=30, follow_redirects=False) as c:
        return c.request(method, _fill(path, cast), headers=headers, **kw)


BAD_KEYS = {"no key": None, "bad key": "aio_" + secrets.token_urlsafe(32), "garbage": "not-a-key\u00e9"[:9]}
# RFC 6750 §3: the challenge every 401 here carries; error="invalid_token" only when a key was sent.
CHALLENGE = 'Bearer realm="bgremover"'
INVALID_TOKEN = 'Bearer realm="bgremover", error="invalid_token"'
EXPECTED_CHALLENGE = {"no key": CHALLENGE, "malformed header": CHALLENGE, "bad key": INVALID_TOKEN,
                      "garbage": INVALID_TOKEN, "revoked key": INVALID_TOKEN, "x-api-key bad": INVALID_TOKEN}


@pytest.mark.parametrize("route", [r for r in ROUTES if _classify(*r) == "key"], ids=" ".join)
@pytest.mark.parametrize("who", list(EXPECTED_CHALLENGE))
def test_key_routes_refuse_without_a_valid_key(hardened, cast, route, who) -> None:
    method, path = route
    if who == "revoked key":
        headers = cast.revoked.headers
    elif who == "x-api-key bad":
        headers = {"X-API-Key": "aio_" + secrets.token_urlsafe(32)}
    elif who == "malformed header":  # not the Bearer scheme: no credentials we understand
        headers = {"Authorization": "Basic Zm9vOmJhcg=="}
    else:
        key = BAD_KEYS[who]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = _call(hardened, method, path, headers, cast)
    assert r.status_code == 401, (route, who, r.status_code, r.text)
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers.get("www-authenticate") == EXPECTED_CHALLENGE[who], (route, who, r.headers)


@pytest.mark.parametrize("route", [r for r in ROUTES if _classify(*r) == "key"], ids=" ".join)
def test_another_accounts_key_sees_nothing_of_the_owner(hardened, cast, route) -> None:
    method, path = route
    before = hardened.client(cast.owner).get("/billing/credits").json()
    r = _call(hardened, method, path, cast.other.headers, cast)
    if "{task_id}" in path:
        assert r.status_code == 404 and r.json()["error"]["code"] == "task_not_found", (route, r.text)
    else:
        assert r.status_code in (200, 202), (route, r.text)
        assert cast.task_id not in r.text, f"{route} showed the owner's task to another account"
    after = hardened.client(cast.owner).get("/billing/credits").json()
    assert (after["credits"], after["reserved"]) == (before["credits"], before["reserved"])


@pytest.mark.parametrize("route", [r for r in ROUTES if _classify(*r) == "key" and r[0] == "GET"], ids=" ".join)
def test_the_owner_gets_through(hardened, cast, route) -> None:
    """The same table with the owner's key answers 200: the refusals above are about the key, not the route."""
    r = _call(hardened, *route, cast.owner.headers, cast)
    assert r.status_code == 200, (route, r.text)


@pytest.mark.parametrize("route", [r for r in ROUTES if _classify(*r) == "session"], ids=" ".join)
@pytest.mark.parametrize("who", ["no key", "owner's API key"])
def test_session_routes_refuse_without_a_session(hardened, cast, route, who) -> None:
    headers = cast.owner.headers if who == "owner's API key" else {}
    r = _call(hardened, *route, headers, cast)
    if r.status_code == 303:
        assert r.headers["location"].startswith("/login"), r.headers["location"]
    else:
        assert r.status_code in (401, 403), (route, who, r.status_code, r.text[:300])
        assert "www-authenticate" not in r.headers, "a dashboard session is not a Bearer token"


@pytest.mark.parametrize("route", [r for r in ROUTES if _classify(*r) == "public"], ids=" ".join)
def test_public_routes_answer_without_a_key_and_without_5xx(hardened, cast, route) -> None:
    method, path = route
    if path == "/static":
        path = "/static/app.css"
    r = _call(hardened, method, path, {}, cast)
    assert r.status_code < 500, (route, r.status_code, r.text[:300])
    assert r.status_code != 401 or path == "/login", (route, r.text[:300])  # a failed sign-in form is 401
