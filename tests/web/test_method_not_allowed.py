"""405 answers name every method the target resource takes (RFC 9110 §15.5.6), not only those of the first route
whose path matched: FastAPI registers one route per path operation and Starlette's ``Allow`` stops at the first.

Driven in-process (the answer is the framework's and the error handler's), expectations from ``/openapi.json``.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bgremover.config import load_settings
from bgremover.store.migrate import upgrade
from bgremover.web.app import create_app

TASK = "/api/v1/tasks/{task_id}"
REMOVE_BG = "/api/v1/images/tools/remove-bg"
ENVELOPE = b'{"error":{"code":"method_not_allowed","message":"Method Not Allowed"}}'


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("allow") / "data")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.bg.db.dispose()


@pytest.fixture(scope="module")
def documented(client: TestClient) -> dict[str, set[str]]:
    """Path template → the methods ``/openapi.json`` documents for it (upper case)."""
    paths = client.get("/openapi.json").json()["paths"]
    return {path: {m.upper() for m in ops} for path, ops in paths.items()}


def _allow(r) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",") if m.strip()}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST", "OPTIONS"])
def test_a_task_405_names_every_method_of_the_task_resource(client, documented, method):
    assert documented[TASK] >= {"GET", "DELETE"}, documented[TASK]
    r = client.request(method, "/api/v1/tasks/0123456789abcdef")
    assert r.status_code == 405
    assert _allow(r) == documented[TASK], r.headers["allow"]
    assert r.content == ENVELOPE  # the usual envelope, unchanged


def test_remove_bg_405_names_post(client, documented):
    r = client.delete(REMOVE_BG)
    assert r.status_code == 405
    assert _allow(r) == documented[REMOVE_BG] and "POST" in _allow(r)
    assert r.content == ENVELOPE


def test_every_documented_path_lists_all_its_methods(client, documented):
    """Each documented path answers an unsupported method with ``Allow`` = its documented methods."""
    for path, methods in documented.items():
        unused = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in methods)
        r = client.request(unused, path.replace("{task_id}", "0123456789abcdef"))
        assert r.status_code == 405, (path, unused, r.status_code)
        assert _allow(r) == methods, (path, r.headers["allow"])


def test_every_method_advertised_is_really_routed(client):
    """``Allow`` lists nothing the app would itself refuse with 405 (e.g. HEAD, which FastAPI routes don't take)."""
    target = "/api/v1/tasks/0123456789abcdef"
    for method in _allow(client.put(target)):
        assert client.request(method, target).status_code != 405, method


def test_a_mounted_app_keeps_its_own_allow(client):
    r = client.put("/static/app.css")
    assert r.status_code == 405 and _allow(r) == {"GET", "HEAD"}
    assert r.content == ENVELOPE


def test_an_unknown_path_is_still_404(client):
    r = client.put("/api/v1/no-such-thing")
    assert r.status_code == 404 and "allow" not in r.headers
    assert r.json()["error"]["code"] == "not_found"
