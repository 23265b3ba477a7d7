"""The submit policy as the API answers it, in-process (no worker): refusals at the door cost nothing.

Default settings: no fetch allowlist, the AGPL licence not accepted, the shared model directory.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bgremover.config import load_settings
from bgremover.service import credits
from bgremover.service.keys import create_key
from bgremover.store.migrate import upgrade
from bgremover.web.app import create_app
from service.helpers import make_account

ENDPOINT = "/api/v1/images/tools/remove-bg"


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=tmp_path / "data", accept_licenses=[], fetch_allow_networks="")
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    state = app.state.bg
    account = make_account(state.db, 5)
    _, key = create_key(state.db, state.secret, account_id=account)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as c:
        c.account = account  # type: ignore[attr-defined]
        yield c
    state.db.dispose()


def _nothing_charged(c: TestClient) -> None:
    state = c.app.state.bg  # type: ignore[attr-defined]
    assert credits.balance(state.db, account_id=c.account).reserved == 0  # type: ignore[attr-defined]
    assert c.get("/api/v1/tasks").json()["total"] == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.jpg", "http://[::1]/x.jpg", "http://10.0.0.7/x.jpg"])
def test_a_literal_internal_url_gets_the_400_other_refused_urls_get(client, url):
    """Issue 13 item 10: before, 202 and a task that failed later; now the same 400 as a URL with credentials."""
    r = client.post(ENDPOINT, json={"image": url, "model": "bg-remover-fast"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "image_fetch_forbidden"
    _nothing_charged(client)


def test_isnet_without_the_licence_answers_license_not_accepted_with_the_setting(client):
    """Issue 13 item 6: one clear code and the exact setting, not "not installed"; the model list agrees."""
    r = client.post(ENDPOINT, json={"image": "https://example.com/x.jpg", "model": "bg-remover-hq-isnet"})
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "license_not_accepted"
    assert "BGREMOVER_ACCEPT_LICENSES=agpl-3.0" in error["message"]
    _nothing_charged(client)
    listed = {m["id"]: m for m in client.get("/api/v1/models").json()["models"]}
    assert listed["bg-remover-hq-isnet"]["available"] is False


def test_the_unknown_model_message_does_not_offer_an_unlicensed_model(client):
    r = client.post(ENDPOINT, json={"image": "https://example.com/x.jpg", "model": "bg-remover-9000"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_model"
    assert "bg-remover-fast" in r.json()["error"]["message"]
    assert "isnet" not in r.json()["error"]["message"]
