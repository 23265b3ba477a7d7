"""The dashboard under test: one real ``bgremover serve`` per module (real workers, u2netp presets) and, for
the browser modules, one headless Debian Chromium driven by Playwright.

The server's catalog gets two extra u2netp presets priced 3 and 2 credits (named so that alphabetical
order differs from price order), so the decision panel's sort is tested on prices that differ.
"""
from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, require
from web.service_process import BIN, ServiceProcess, embedded_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
WEBHOOK_SECRET = "whsec_" + "t" * 32
PASSWORD = "correct horse battery staple"
EXTRA_PRESETS = """
[presets.aa-premium-test]
credits = 3
description = "Test preset over u2netp priced at 3 credits."
models = ["u2netp"]
licence = "Apache-2.0"

[presets.zz-middle-test]
credits = 2
description = "Test preset over u2netp priced at 2 credits."
models = ["u2netp"]
licence = "Apache-2.0"
[presets.zz-middle-test.measured]
quality = { iou = 0.93, sad = 12.5, set = "dev" }
latency = { p50_ms = 210.0, device = "cpu" }
"""


@dataclass
class User:
    email: str
    password: str
    id: int


class DashboardServer(ServiceProcess):
    def add_user(self, *, admin: bool = False, credits_: int = 0, cli: bool = False) -> User:
        """A user with a dashboard password; ``cli``: created the operator's way, ``bgremover accounts create``."""
        from bgremover.service import credits
        from bgremover.service.accounts import create_account, get_account_by_email

        email = f"{'admin' if admin else 'user'}-{secrets.token_hex(4)}@example.com"
        if cli:
            args = [str(BIN), "accounts", "create", email, "--password-stdin"] + (["--admin"] if admin else [])
            done = subprocess.run(args, input=PASSWORD + "\n", capture_output=True, text=True,
                                  env={**os.environ, **self.env}, timeout=60)
            assert done.returncode == 0, done.stderr
            acc = get_account_by_email(self.db, email)
        else:
            acc = create_account(self.db, email=email, password=PASSWORD, is_admin=admin)
        if credits_:
            credits.grant(self.db, account_id=acc.id, amount=credits_, note="test")
        return User(email, PASSWORD, acc.id)

    def balance(self, user: User) -> int:
        from bgremover.service.accounts import get_account

        return get_account(self.db, user.id).credits_available


def start_server(root: Path, *, workers: int, **env: str) -> DashboardServer:
    from bgremover.config import load_settings
    from bgremover.pipeline.remover import Remover

    require(Remover(load_settings()).registry.is_available("u2netp"),
            "u2netp is not fetched (run: bgremover models fetch u2netp)")
    (root / "presets.toml").write_text(EXTRA_PRESETS)
    env = embedded_env(root / "data", BGREMOVER_PAYMENT_WEBHOOK_SECRET=WEBHOOK_SECRET,
                       BGREMOVER_CUSTOM_MODELS=str(root / "presets.toml"), BGREMOVER_DEFAULT_MODEL="bg-remover-fast",
                       BGREMOVER_RATE_LIMIT_PER_MINUTE="10000",
                       BGREMOVER_READ_RATE_LIMIT_PER_MINUTE="100000", **env)
    args = ["--workers", str(workers)] if workers else ["--api-only"]
    svc = DashboardServer(mode="embedded", env=env, data_dir=root / "data", log_path=root / "serve.log", args=args)
    return svc.start()  # type: ignore[return-value]


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    """``serve --api-only`` for the tests that need no worker (webhook, sessions, CSRF): starts fastest."""
    svc = start_server(tmp_path_factory.mktemp("dash-api"), workers=0)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.is_file(), f"{CHROMIUM} is missing (run: make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (artifacts/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def only_loopback(route: object) -> None:
    """Playwright route handler: the page may talk to 127.0.0.1 only (the network rule for tests)."""
    url = route.request.url  # type: ignore[attr-defined]
    if re.match(r"^(https?|wss?)://127\.0\.0\.1[:/]", url) or url.startswith(("data:", "blob:")):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


def new_context(browser: object, server: ServiceProcess, **context_args: object) -> object:
    """A fresh browser context (own cookies) that may reach the server under test and nothing else."""
    ctx = browser.new_context(base_url=server.base_url, **context_args)  # type: ignore[attr-defined]
    ctx.route("**/*", only_loopback)
    return ctx


def login(browser: object, server: ServiceProcess, user: User, **context_args: object) -> object:
    """A fresh browser context signed in as ``user`` through the login form; returns its page."""
    page = new_context(browser, server, **context_args).new_page()  # type: ignore[attr-defined]
    page.goto("/dashboard")
    assert "/login" in page.url  # not signed in yet: redirected
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return page


def http(server: ServiceProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)


def signed_in(server: ServiceProcess, user: User) -> tuple[httpx.Client, str]:
    """An HTTP client signed in through the login form, and its session's CSRF token."""
    c = http(server)
    r = c.post("/login", data={"email": user.email, "password": user.password})
    assert r.status_code == 303, r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/dashboard/keys").text)
    assert token
    return c, token.group(1)
