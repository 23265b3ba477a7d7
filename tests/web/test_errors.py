"""Requests refused at the door: right status, stable code, the one envelope, and nothing created or charged."""
from __future__ import annotations

import pytest

from web.conftest import FAST

ENDPOINT = "/api/v1/images/tools/remove-bg"


def _error(r, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    return body["error"]["message"]


BAD_BODIES = [
    ("bad json", b'{"image": ', 400, "validation_error"),
    ("not an object", b'[1, 2]', 400, "validation_error"),
    ("no image", b'{"model": "bg-remover-fast"}', 400, "validation_error"),
    ("unknown field", b'{"image": "http://127.0.0.1/x.jpg", "colour": 1}', 400, "validation_error"),
    ("bad format", b'{"image": "http://127.0.0.1/x.jpg", "output_format": "gif"}', 400, "validation_error"),
    ("wait over 60", b'{"image": "http://127.0.0.1/x.jpg", "wait": 61}', 400, "validation_error"),
    ("bad colour", b'{"image": "http://127.0.0.1/x.jpg", "bg_color": "blurple"}', 400, "validation_error"),
    ("ftp url", b'{"image": "ftp://127.0.0.1/x.jpg"}', 400, "validation_error"),
    ("credentials in url", b'{"image": "http://user:pw@127.0.0.1/x.jpg"}', 400, "image_fetch_forbidden"),
    ("bad data uri", b'{"image": "data:image/png;base64,***"}', 400, "image_fetch_failed"),
    ("unknown model", b'{"image": "http://127.0.0.1/x.jpg", "model": "bg-remover-9000"}', 400, "unsupported_model"),
]


@pytest.mark.parametrize("case,body,status,code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_requests_are_refused_and_cost_nothing(service, account, case, body, status, code):
    with service.client(account) as c:
        r = c.post(ENDPOINT, content=body, headers={"Content-Type": "application/json"})
        _error(r, status, code)
        assert c.get("/billing/credits").json()["credits"] == 10
        assert c.get("/api/v1/tasks").json()["total"] == 0


def test_missing_unknown_and_revoked_keys_are_unauthorized(service, account):
    from bgremover.service.keys import revoke_key

    body = {"image": "http://127.0.0.1/x.jpg", "model": FAST}
    with service.client() as anon:
        assert "API key" in _error(anon.post(ENDPOINT, json=body), 401, "unauthorized")
        _error(anon.get("/billing/credits", headers={"Authorization": "Bearer aio_" + "x" * 43}), 401, "unauthorized")
        _error(anon.get("/billing/credits", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401, "unauthorized")
    with service.client(account) as c:
        assert c.get("/billing/credits").status_code == 200
        revoke_key(service.db, key_id=account.key_id)
        _error(c.get("/billing/credits"), 401, "unauthorized")  # at once, no cache
        _error(c.post(ENDPOINT, json=body), 401, "unauthorized")


def test_insufficient_credits_creates_nothing(service, images):
    poor = service.new_account(0)
    with service.client(poor) as c:
        _error(c.post(ENDPOINT, json={"image": images.url("photo.jpg"), "model": FAST}), 402,
               "insufficient_credits")
        assert c.get("/api/v1/tasks").json()["total"] == 0
        assert c.get("/billing/credits").json() == {"credits": 0, "reserved": 0, "ledger": [], "next_before": None}


def test_unknown_routes_and_methods_use_the_envelope(service):
    with service.client() as c:
        _error(c.get("/api/v1/nope"), 404, "not_found")
        _error(c.put("/healthz"), 405, "method_not_allowed")
        _error(c.get("/api/v1/tasks?limit=0"), 401, "unauthorized")


def test_query_validation_uses_the_envelope(service, account):
    with service.client(account) as c:
        _error(c.get("/api/v1/tasks?limit=1000"), 400, "validation_error")
        _error(c.get("/api/v1/tasks?status=lost"), 400, "validation_error")


def test_oversized_bodies_are_refused_before_anything_is_stored(service, account):
    """The server under test accepts images up to 1 MB."""
    from web.images import photo_bytes

    big = photo_bytes((64, 64)) + b"\0" * 1_100_000
    with service.client(account) as c:
        _error(c.post(ENDPOINT, files={"image_file": ("big.jpg", big, "image/jpeg")}, data={"model": FAST}), 413,
               "image_too_large")
        _error(c.post(ENDPOINT, content=b'{"image": "data:image/png;base64,' + b"A" * 1_500_000 + b'"}',
                      headers={"Content-Type": "application/json"}), 413, "image_too_large")
        assert c.get("/api/v1/tasks").json()["total"] == 0
        assert c.get("/billing/credits").json()["credits"] == 10


def test_a_malformed_multipart_body_is_a_validation_error(service, account):
    with service.client(account) as c:
        r = c.post(ENDPOINT, content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno end",
                   headers={"Content-Type": "multipart/form-data; boundary=xyz"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", r.text
