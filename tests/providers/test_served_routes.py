"""End to end: our own ``bgremover serve`` (API + a worker) with a providers file whose route for the fast model
is another real ``bgremover serve`` first, then ``local``. What a client and the operator see: the task's
``provider``, one charge, the pin policy, ``/metrics`` per provider and the admin page's margin table."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from web.dashboard.conftest import DashboardServer, login, screenshot
from web.service_process import embedded_env

from bgremover.store.tables import tasks
from providers.conftest import FAST, Upstream
from providers.test_bgremover_upstream import balance as upstream_balance

ENDPOINT = "/api/v1/images/tools/remove-bg"


def providers_file(path: Path, upstream: Upstream) -> Path:
    t = upstream.table
    path.write_text(f"""
[providers.gpu]
kind = "bgremover"
url = "{t['url']}"
api_key_env = "{next(iter(upstream.env))}"
timeout_s = 60
max_concurrency = 2
cost_per_image = 0.5

[providers.local]
kind = "local"
pinnable = true

[routes]
{FAST} = ["gpu", "local"]
""")
    return path


@pytest.fixture(scope="module")
def ours(bgremover_upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    root = tmp_path_factory.mktemp("ours")
    env = embedded_env(root / "data", BGREMOVER_DEFAULT_MODEL=FAST,
                       BGREMOVER_PROVIDERS=str(providers_file(root / "providers.toml", bgremover_upstream)),
                       **bgremover_upstream.env)
    svc = DashboardServer(mode="embedded", env=env, data_dir=root / "data", log_path=root / "serve.log",
                          args=["--workers", "1"])
    svc.start()
    yield svc
    svc.stop()


def test_a_routed_task_names_its_provider_and_is_charged_once(ours: DashboardServer, bgremover_upstream: Upstream,
                                                             photo: bytes) -> None:
    account = ours.new_account(5)
    upstream_before = upstream_balance(bgremover_upstream)
    with ours.client(account) as c:
        r = c.post(ENDPOINT, files={"image_file": ("p.jpg", photo, "image/jpeg")}, data={"model": FAST, "wait": "60"})
        assert r.status_code == 200, r.text
        task = r.json()
        assert (task["status"], task["provider"], task["credits_charged"]) == ("succeeded", "gpu", 1)
        assert c.get(f"/api/v1/tasks/{task['task_id']}").json()["provider"] == "gpu"
        assert c.get("/billing/credits").json()["credits"] == 4
    assert upstream_balance(bgremover_upstream) == upstream_before - 1
    key = next(iter(bgremover_upstream.env.values()))
    assert key not in ours.log_text() and key not in r.text, "the upstream's key never leaves the server"


def test_a_client_may_pin_only_a_pinnable_provider(ours: DashboardServer, photo: bytes) -> None:
    account = ours.new_account(5)
    with ours.client(account) as c:
        refused = c.post(ENDPOINT, files={"image_file": ("p.jpg", photo, "image/jpeg")},
                         data={"model": FAST, "provider": "gpu"})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "provider_not_allowed" and "providers that can: local" in error["message"]
        unknown = c.post(ENDPOINT, json={"image": "data:,x", "model": FAST, "provider": "nowhere"})
        assert unknown.json()["error"]["code"] == "provider_not_allowed"
        assert c.get("/billing/credits").json()["credits"] == 5, "a refused pin costs nothing"
        pinned = c.post(ENDPOINT, files={"image_file": ("p.jpg", photo, "image/jpeg")},
                        data={"model": FAST, "provider": "local", "wait": "60"}).json()
        assert (pinned["status"], pinned["provider"], pinned["credits_charged"]) == ("succeeded", "local", 1)


def test_metrics_show_each_provider(ours: DashboardServer, photo: bytes) -> None:
    account = ours.new_account(5)
    with ours.client(account) as c:
        r = c.post(ENDPOINT, files={"image_file": ("p.jpg", photo, "image/jpeg")}, data={"model": FAST, "wait": "60"})
        assert r.json()["provider"] == "gpu"
        metrics = c.get("/metrics").text
    served = re.search(r'^bgremover_provider_tasks_served_total\{provider="gpu"\} (\S+)$', metrics, re.MULTILINE)
    assert served and float(served.group(1)) >= 1
    succeeded = r'^bgremover_provider_attempts_last_hour\{outcome="succeeded",provider="gpu"\} '
    assert re.search(succeeded, metrics, re.MULTILINE)
    assert re.search(r'^bgremover_provider_latency_last_hour_seconds_count\{provider="gpu"\} ', metrics, re.MULTILINE)
    cost = re.search(r'^bgremover_provider_upstream_cost_credits_total\{provider="gpu"\} (\S+)$', metrics, re.MULTILINE)
    assert cost and float(cost.group(1)) == 0.5 * float(served.group(1))


@pytest.mark.browser
def test_the_admin_page_shows_each_providers_margin_in_chromium(ours: DashboardServer, browser: object,
                                                                photo: bytes) -> None:
    account = ours.new_account(5)
    with ours.client(account) as c:
        r = c.post(ENDPOINT, files={"image_file": ("p.jpg", photo, "image/jpeg")}, data={"model": FAST, "wait": "60"})
        assert r.json()["provider"] == "gpu"
    with ours.db.read() as conn:  # what the table must say, counted here from the tasks themselves
        n = conn.execute(select(func.count()).where(tasks.c.provider == "gpu", tasks.c.status == "succeeded")
                         ).scalar_one()
    page = login(browser, ours, ours.add_user(admin=True), viewport={"width": 1280, "height": 900})
    page.goto("/dashboard/admin")  # type: ignore[attr-defined]
    table = page.locator('[data-testid="provider-margin"]')  # type: ignore[attr-defined]
    row = table.locator("tbody tr", has=page.locator("code", has_text="gpu"))  # type: ignore[attr-defined]
    assert row.locator("td.num").all_inner_texts() == [str(n), str(n), f"{0.5 * n:.2f}", f"{0.5 * n:.2f}"]
    assert table.is_visible()
    screenshot(page, "admin-provider-margin-1280")
