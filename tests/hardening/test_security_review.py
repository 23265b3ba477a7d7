"""The security review, as tests: headers on every page, no secret in any log line or error body, and
``serve`` listening on loopback unless told otherwise."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest

from bgremover.service.accounts import create_account
from hardening.conftest import FAST
from hardening.test_auth_table import ROUTES, _classify
from web.service_process import ServiceProcess, poll_task

PASSWORD = "hardening " + secrets.token_hex(8)
# Pages a signed-in browser opens; /login and /signup (off by default) are checked signed out.
HTML_GET_ROUTES = sorted(path for method, path in ROUTES if method == "GET" and "{" not in path
                         and not path.endswith(".csv")
                         and (_classify(method, path) == "session" or path in ("/models", "/docs")))


@pytest.fixture(scope="module")
def signed_in(hardened: ServiceProcess) -> httpx.Client:
    email = f"pages-{secrets.token_hex(4)}@example.com"
    create_account(hardened.db, email=email, password=PASSWORD, is_admin=True)
    client = httpx.Client(base_url=hardened.base_url, timeout=30, follow_redirects=False)
    r = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/dashboard"})
    assert r.status_code == 303, r.text
    yield client
    client.close()


def _check_page_headers(r: httpx.Response, path: str) -> None:
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (path, r.status_code)
    h = r.headers
    assert h.get("x-content-type-options") == "nosniff", path
    csp = h.get("content-security-policy", "")
    assert h.get("x-frame-options") == "DENY" or "frame-ancestors 'none'" in csp, f"{path} can be framed"
    if path != "/docs":  # Swagger UI's page is FastAPI's own; it gets nosniff and framing denial only
        assert "default-src 'self'" in csp and "object-src 'none'" in csp, (path, csp)
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0], (path, csp)
        assert h.get("cache-control") == "no-store", path
        assert h.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


@pytest.mark.parametrize("path", HTML_GET_ROUTES)
def test_every_html_page_carries_the_security_headers(signed_in: httpx.Client, path: str) -> None:
    _check_page_headers(signed_in.get(path), path)


def test_the_statement_download_is_neither_cached_nor_sniffed(signed_in: httpx.Client) -> None:
    r = signed_in.get("/dashboard/billing/statement.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers.get("x-content-type-options") == "nosniff" and r.headers.get("cache-control") == "no-store"


def test_the_sign_in_page_carries_them_too(hardened: ServiceProcess) -> None:
    _check_page_headers(httpx.get(f"{hardened.base_url}/login", timeout=30), "/login")


def test_the_session_cookie_is_httponly_and_samesite(hardened: ServiceProcess) -> None:
    email = f"cookie-{secrets.token_hex(4)}@example.com"
    create_account(hardened.db, email=email, password=PASSWORD)
    r = httpx.post(f"{hardened.base_url}/login", data={"email": email, "password": PASSWORD}, timeout=30)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and ("samesite=lax" in cookie or "samesite=strict" in cookie), cookie


def test_no_secret_reaches_a_log_line_or_an_error_body(hardened: ServiceProcess, image_host) -> None:
    acc = hardened.new_account(5)
    wrong_key = "aio_" + secrets.token_urlsafe(32)
    url_password = "pw" + secrets.token_hex(8)
    url_token = "tok" + secrets.token_hex(8)
    bodies: list[str] = []
    with httpx.Client(base_url=hardened.base_url, timeout=30) as c, hardened.client(acc) as owner:
        auth = {"Authorization": f"Bearer {acc.key}"}
        bodies.append(c.get("/billing/credits", headers={"X-API-Key": acc.key}).text)
        bodies.append(c.get("/api/v1/tasks", params={"api_key": acc.key}, headers=auth).text)
        bodies.append(c.get("/billing/credits", headers={"Authorization": f"Bearer {wrong_key}"}).text)
        bodies.append(c.get("/billing/credits", headers={"Authorization": f"Basic {wrong_key}"}).text)
        host = f"127.0.0.1:{image_host.port}"
        r = c.post("/api/v1/images/tools/remove-bg", headers=auth,
                   json={"image": f"http://user:{url_password}@{host}/img/photo.jpg", "model": FAST})
        assert r.status_code == 400 and r.json()["error"]["code"] == "image_fetch_forbidden"
        bodies.append(r.text)
        r = c.post("/api/v1/images/tools/remove-bg", headers=auth,
                   json={"image": f"http://{host}/missing.jpg?token={url_token}", "model": FAST})
        failed = poll_task(owner, r.json()["task_id"]) if r.status_code == 202 else r.json()
        bodies.append(str(failed))
        r = c.post("/api/v1/images/tools/remove-bg", headers=auth,
                   json={"image": image_host.url("photo.jpg"), "model": FAST})
        done = poll_task(owner, r.json()["task_id"])
        signed = done["result"]["url"]
        assert httpx.get(signed, timeout=30).status_code == 200
        signature = re.search(r"signature=([0-9a-f]+)", signed).group(1)
        bodies.append(c.post("/login", data={"email": "nobody@example.com", "password": url_password}).text)
        bodies.append(c.get("/metrics").text)
    secrets_ = {"the API key": acc.key, "a wrong key": wrong_key, "a URL password": url_password,
                "a URL token": url_token, "a result signature": signature,
                "the server secret": hardened.env["BGREMOVER_SECRET_KEY"]}
    secrets_.update({f"issued key {i}": k for i, k in enumerate(hardened.issued_keys)})
    log = hardened.log_text()
    assert "task " in log and "GET /billing/credits" in log, "the log must have lines to search"
    for what, value in secrets_.items():
        assert value not in log, f"{what} is in the server log"
        for body in bodies:
            assert value not in body, f"{what} is in an error body: {body[:300]}"
        assert value[:16] not in log, f"a prefix of {what} is in the server log"


def _listening(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port``, read from /proc (no connection made)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(addr if len(addr) == width else addr)
    return found


def test_serve_binds_loopback_by_default(hardened: ServiceProcess) -> None:
    from bgremover.config import Settings

    assert Settings().host == "127.0.0.1"
    assert "--host" not in hardened.args, "the shared server is started without --host, as `make run` does"
    assert _listening(hardened.port) == {"0100007F"}, "bgremover serve listens beyond 127.0.0.1 by default"


def test_signature_checks_answer_4xx_to_non_ascii_input(hardened: ServiceProcess, signed_in: httpx.Client) -> None:
    """hmac.compare_digest raises TypeError on a str with non-ASCII characters; every signature the service
    checks (result URL, invitation link, CSRF token) must turn that into a refusal, not a 500."""
    base = hardened.base_url
    r = httpx.get(f"{base}/api/v1/tasks/x/result", params={"expires": "1", "signature": "\u00e9" * 64}, timeout=30)
    assert r.status_code == 404, r.text
    r = httpx.get(f"{base}/invite/1.{2**40}.%C3%A9%C3%A9", timeout=30)
    assert r.status_code in (400, 404, 410), r.status_code
    r = signed_in.post("/logout", data={"csrf_token": "\u00e9" * 40})
    assert r.status_code == 403, r.status_code
    assert "unhandled TypeError" not in hardened.log_text()
