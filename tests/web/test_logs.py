"""No API key, signed-URL signature or image-URL query string ever reaches the server's logs."""
from __future__ import annotations

import secrets

import pytest

from web.conftest import FAST
from web.service_process import poll_task

pytestmark = pytest.mark.slow


def test_secrets_are_absent_from_logs(service, images, account):
    token = secrets.token_hex(12)
    with service.client(account) as c:
        r = c.post("/api/v1/images/tools/remove-bg",
                   json={"image": images.url("photo.jpg", token=token), "model": FAST})
        task = poll_task(c, r.json()["task_id"])
        signature = task["result"]["url"].split("signature=")[1]
        assert c.get(task["result"]["url"]).status_code == 200
        failed = c.post("/api/v1/images/tools/remove-bg",
                        json={"image": images.url("missing.jpg", token=token), "model": FAST})
        assert poll_task(c, failed.json()["task_id"])["status"] == "failed"
    with service.client() as anon:  # a wrong key is not logged either
        wrong = "aio_" + secrets.token_urlsafe(32)
        assert anon.get("/billing/credits", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    log = service.log_text()
    assert task["task_id"] in log, "the log does record the requests and tasks"
    for secret in [*service.issued_keys, wrong, token, signature]:
        assert secret not in log
    assert service.secret.decode() not in log
