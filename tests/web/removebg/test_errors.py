"""Errors in remove.bg's shape, ``{"errors": [{"title", "detail", "code"}]}``, with its statuses; the account."""
from __future__ import annotations

import httpx
import pytest

from web.removebg.conftest import balance, post, sample_bytes

pytestmark = pytest.mark.slow


def _error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    err = body["errors"][0]
    assert set(err) == {"title", "detail", "code"} and err["code"] == code and err["title"] and err["detail"]
    return err


def test_a_missing_or_bad_key_is_403(api_only):
    _error(post(api_only, None, data={"image_url": "http://127.0.0.1/x.jpg"}), 403, "unauthorized")
    err = _error(httpx.post(api_only.base_url + "/v1.0/removebg", headers={"X-Api-Key": "aio_nope"},
                            data={"image_url": "http://127.0.0.1/x.jpg"}), 403, "unauthorized")
    assert err["title"] == "Invalid API Key"
    _error(httpx.get(api_only.base_url + "/v1.0/account"), 403, "unauthorized")


@pytest.mark.parametrize(("fields", "named"), [
    ({"size": "huge"}, "size"), ({"format": "gif"}, "format"), ({"type": "house"}, "type"),
    ({"channels": "rgb"}, "channels"), ({"crop": "maybe"}, "crop"), ({"crop_margin": "3em"}, "crop_margin"),
    ({"roi": "0 0 10"}, "roi"), ({"scale": "5%"}, "scale"), ({"position": "left"}, "position"),
    ({"bg_color": "notacolour"}, "bg_color"), ({"semitransparency": "often"}, "semitransparency"),
    ({"add_shadow": "true"}, "add_shadow"), ({"shadow_type": "drop"}, "shadow_type"),
    ({"shadow_opacity": "50"}, "shadow_opacity"), ({"type_level": "3"}, "type_level"),
    ({"crop": "true", "scale": "50%"}, "scale"), ({"bg_color": "fff", "bg_image_url": "http://127.0.0.1/b.jpg"},
                                                  "bg_image_url"),
    ({"size": "auto", "colour": "red"}, "colour"),
])
def test_every_refused_parameter_is_a_400_that_names_it(api_only, fields, named):
    acc = api_only.new_account(5)
    err = _error(post(api_only, acc, files={"image_file": ("p.jpg", sample_bytes(), "image/jpeg")}, data=fields),
                 400, "validation_error")
    assert named in err["detail"]
    assert balance(api_only, acc)["credits"] == 5


def test_the_image_source_must_be_exactly_one(api_only):
    acc = api_only.new_account(5)
    _error(post(api_only, acc, data={"size": "auto"}), 400, "validation_error")
    _error(post(api_only, acc, data={"image_url": "http://127.0.0.1/x.jpg", "image_file_b64": "AAAA"}), 400,
           "validation_error")
    _error(post(api_only, acc, json={"image_file_b64": "%%% not base64"}), 400, "validation_error")
    _error(post(api_only, acc, data={"image_url": "ftp://127.0.0.1/x.jpg"}), 400, "validation_error")


def test_a_background_url_the_ssrf_policy_refuses_is_a_400_and_free(api_only):
    acc = api_only.new_account(5)
    r = post(api_only, acc, files={"image_file": ("p.jpg", sample_bytes(), "image/jpeg")},
             data={"bg_image_url": "http://127.0.0.2:9/bg.jpg"})  # loopback, but outside the allowed 127.0.0.1/32
    _error(r, 400, "image_fetch_forbidden")
    assert balance(api_only, acc)["credits"] == 5


def test_too_many_requests_is_429_with_retry_after(api_only, fresh_rate_window):
    acc = api_only.new_account(5)
    answers = [httpx.get(api_only.base_url + "/v1.0/account", headers={"X-Api-Key": acc.key}) for _ in range(6)]
    assert [r.status_code for r in answers[:4]] == [200] * 4
    err = _error(answers[-1], 429, "rate_limited")
    assert err["title"] == "Rate limit exceeded"
    assert int(answers[-1].headers["retry-after"]) >= 1 and answers[-1].headers["x-ratelimit-remaining"] == "0"


def test_a_task_that_does_not_finish_in_time_is_canceled_and_refunded(api_only):
    acc = api_only.new_account(5)  # api_only runs no worker and waits 1 s
    r = post(api_only, acc, files={"image_file": ("p.jpg", sample_bytes(), "image/jpeg")})
    _error(r, 503, "processing_timeout")
    assert r.headers["retry-after"] == "5"
    bal = balance(api_only, acc)
    assert (bal["credits"], bal["reserved"]) == (5, 0)
    with api_only.client(acc) as c:
        assert c.get("/api/v1/tasks").json()["tasks"][0]["status"] == "canceled"


def test_account_shows_the_balance_in_remove_bg_shape(api_only):
    acc = api_only.new_account(7)
    r = httpx.get(api_only.base_url + "/v1.0/account", headers={"X-Api-Key": acc.key})
    assert r.status_code == 200
    assert r.json() == {"data": {"attributes": {
        "credits": {"total": 7, "subscription": 0, "payg": 7, "enterprise": 0},
        "api": {"free_calls": 0, "sizes": "all"}}}}


@pytest.mark.parametrize("url", ["http://127.0.0.2:9/x.jpg", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]:9/x.jpg"])
def test_an_image_url_naming_a_refused_address_is_a_400_at_once_and_free(api_only, url):
    """As on the native route: a literal address the SSRF policy refuses is judged at submission, not after the
    wait (127.0.0.2 is loopback outside the allowed 127.0.0.1/32; no connection is made to any of these)."""
    acc = api_only.new_account(5)
    _error(post(api_only, acc, data={"image_url": url}), 400, "image_fetch_forbidden")
    assert balance(api_only, acc)["credits"] == 5
    with api_only.client(acc) as c:
        assert c.get("/api/v1/tasks").json()["total"] == 0, "nothing was queued"
