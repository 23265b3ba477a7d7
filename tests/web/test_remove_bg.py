"""POST /api/v1/images/tools/remove-bg, end to end: real server, real workers, real model."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from web.conftest import FAST
from web.service_process import poll_task

pytestmark = pytest.mark.slow

ENDPOINT = "/api/v1/images/tools/remove-bg"


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _balance(client) -> dict:
    r = client.get("/billing/credits")
    assert r.status_code == 200
    return r.json()


def _assert_cutout(client, task: dict, size: tuple[int, int], fmt: str) -> None:
    assert task["status"] == "succeeded", task
    assert task["credits_charged"] == 1 and task["error"] is None
    res = task["result"]
    assert (res["width"], res["height"]) == size
    assert res["content_type"] == f"image/{fmt}"
    got = client.get(res["url"])  # the signed URL, with the owner's key too
    assert got.status_code == 200 and got.headers["content-type"] == f"image/{fmt}"
    assert len(got.content) == res["bytes"]
    im = _open(got.content)
    assert im.format == fmt.upper() and im.size == size and im.mode == "RGBA"
    alpha = im.getchannel("A")
    lo, hi = alpha.getextrema()
    assert lo < 128 < hi, "a cut-out has both transparent and opaque pixels"


def test_url_submit_poll_download_charges_exactly_one_credit(service, images, account):
    with service.client(account) as c:
        before = _balance(c)["credits"]
        r = c.post(ENDPOINT, json={"image": images.url("photo.jpg"), "model": FAST})
        assert r.status_code == 202, r.text
        body = r.json()
        assert set(body) == {"task_id", "status", "model", "credits_reserved", "created_at"}
        assert body["status"] == "queued" and body["model"] == FAST and body["credits_reserved"] == 1
        assert r.headers["location"] == f"/api/v1/tasks/{body['task_id']}"
        assert _balance(c)["credits"] == before - 1  # reserved at submission
        task = poll_task(c, body["task_id"])
        _assert_cutout(c, task, (96, 64), "png")
        bal = _balance(c)
        assert bal["credits"] == before - 1 and bal["reserved"] == 0
        lines = [(e["reason"], e["delta"]) for e in bal["ledger"] if e["task_id"] == body["task_id"]]
        assert lines == [("charge", -1)], "one statement line per task outcome"


def test_data_uri_with_wait_answers_the_finished_task_as_webp(service, account):
    from web.images import photo_bytes

    uri = "data:image/png;base64," + base64.b64encode(photo_bytes((64, 80), "PNG")).decode()
    with service.client(account) as c:
        r = c.post(ENDPOINT, json={"image": uri, "model": FAST, "output_format": "webp", "wait": 60})
        assert r.status_code == 200, r.text
        _assert_cutout(c, r.json(), (64, 80), "webp")
        assert _balance(c)["credits"] == 9


def test_multipart_upload(service, account):
    from web.images import photo_bytes

    with service.client(account) as c:
        r = c.post(ENDPOINT, files={"image_file": ("x.jpg", photo_bytes((128, 96)), "image/jpeg")},
                   data={"model": FAST, "wait": "60"})
        assert r.status_code == 200, r.text
        _assert_cutout(c, r.json(), (128, 96), "png")


def test_default_model_is_bg_remover(service, images, account):
    with service.client(account) as c:
        r = c.post(ENDPOINT, json={"image": images.url("photo.png"), "wait": 60})
        assert r.status_code == 200, r.text
        task = r.json()
        assert task["model"] == "bg-remover"
        _assert_cutout(c, task, (80, 120), "png")


def test_options_alpha_channel_and_crop(service, images, account):
    with service.client(account) as c:
        r = c.post(ENDPOINT, json={"image": images.url("photo.jpg"), "model": FAST, "channels": "alpha",
                                   "wait": 60})
        task = r.json()
        assert task["status"] == "succeeded", task
        im = _open(c.get(task["result"]["url"]).content)
        assert im.mode in ("L", "LA") and im.size == (96, 64)
        r = c.post(ENDPOINT, json={"image": images.url("photo.jpg"), "model": FAST, "crop": True, "wait": 60})
        task = r.json()
        assert task["status"] == "succeeded", task
        assert task["result"]["width"] < 96 and task["result"]["height"] <= 64


def test_bg_color_takes_a_css_colour_name_as_documented(service, images, account):
    with service.client(account) as c:
        r = c.post(ENDPOINT, json={"image": images.url("photo.jpg"), "model": FAST, "bg_color": "white", "wait": 60})
        assert r.status_code == 200, r.text
        task = r.json()
        assert task["status"] == "succeeded", task
        im = _open(c.get(task["result"]["url"]).content)
        assert im.mode == "RGB" and min(im.getpixel((0, 0))) > 240


def test_idempotency_key_returns_the_same_task(service, images, account):
    with service.client(account) as c:
        body = {"image": images.url("photo.jpg"), "model": FAST}
        first = c.post(ENDPOINT, json=body, headers={"Idempotency-Key": "order-42"})
        again = c.post(ENDPOINT, json=body, headers={"Idempotency-Key": "order-42"})
        assert first.status_code == 202 and again.status_code in (200, 202)
        assert again.json()["task_id"] == first.json()["task_id"]
        other = c.post(ENDPOINT, json={**body, "output_format": "webp"}, headers={"Idempotency-Key": "order-42"})
        assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
        poll_task(c, first.json()["task_id"])
        assert _balance(c)["credits"] == 9, "one task, one credit"


FAILURES = [
    ("unreachable", lambda img: "http://127.0.0.1:9/none.jpg", "image_fetch_failed"),
    ("http 404", lambda img: img.url("missing.jpg"), "image_fetch_failed"),
    ("not an image", lambda img: img.url("notes.txt"), "unsupported_image"),
    ("truncated", lambda img: img.url("truncated.jpg"), "corrupt_image"),
    ("decompression bomb", lambda img: img.url("bomb.png"), "image_too_large"),
    ("too many bytes", lambda img: img.url("huge.bin"), "image_too_large"),
    ("slow server", lambda img: img.url("photo.jpg", slow=20), "image_fetch_failed"),
]


@pytest.mark.parametrize("case,url,code", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_bad_image_fails_the_task_with_its_code_and_refunds(service, images, account, case, url, code):
    with service.client(account) as c:
        r = c.post(ENDPOINT, json={"image": url(images), "model": FAST})
        assert r.status_code == 202, r.text
        task = poll_task(c, r.json()["task_id"])
        assert task["status"] == "failed", task
        assert task["error"]["code"] == code, task["error"]
        assert task["error"]["message"]
        assert task["credits_charged"] == 0 and task["result"] is None
        bal = _balance(c)
        assert (bal["credits"], bal["reserved"]) == (10, 0)
        assert [e["reason"] for e in bal["ledger"] if e["task_id"] == task["task_id"]] == ["refund"]  # one per outcome
