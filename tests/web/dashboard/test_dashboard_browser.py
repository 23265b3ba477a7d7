"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against a real
``bgremover serve`` with a worker process and the u2netp presets. Every page is screenshotted into
artifacts/screenshots/ for a human to look at.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from web.dashboard.conftest import DashboardServer, User, login, new_context, screenshot, start_server
from web.images import photo_bytes

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    svc = start_server(tmp_path_factory.mktemp("dash-browser"), workers=1)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def admin(server: DashboardServer) -> User:
    return server.add_user(admin=True, cli=True)  # the first admin comes from the CLI


def api_key_works(server: DashboardServer, key: str) -> int:
    return httpx.get(f"{server.base_url}/billing/credits", headers={"Authorization": f"Bearer {key}"}).status_code


def test_sign_in_by_keyboard_create_a_key_shown_once_and_revoke_it(browser, server: DashboardServer) -> None:
    user = server.add_user()
    ctx = new_context(browser, server)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.goto("/dashboard/keys")
    assert "/login" in page.url
    screenshot(page, "login")
    page.keyboard.type(user.email)  # the email field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/keys")  # back where the user was going

    name = "<script>alert(1)</script>"
    page.fill("#key-name", name)
    page.click("text=Create key")
    key = page.locator("#new-key-value").inner_text().strip()
    assert key.startswith("aio_") and len(key) >= 36
    assert page.locator("tr[data-key-id] .key-name").first.inner_text() == name  # shown as text...
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()  # ...because it was escaped
    page.click("text=Copy key")
    page.wait_for_selector("text=Copied.")
    screenshot(page, "keys-new-key-shown-once")
    assert api_key_works(server, key) == 200

    page.goto("/dashboard/keys")  # the next view of the page: listed by prefix, never the key again
    assert key not in page.content()
    assert key[:12] in page.locator("tr[data-key-id]").first.inner_text()
    page.click("tr[data-key-id] >> text=Revoke")
    page.wait_for_selector("text=The key was revoked")
    assert "revoked" in page.locator("tr[data-key-id]").first.inner_text()
    assert api_key_works(server, key) == 401  # at once
    screenshot(page, "keys-revoked")
    assert dialogs == ["Revoke this key? Requests with it will fail at once."]  # the confirm, and no alert(1)
    ctx.close()


def test_a_top_up_approved_by_an_admin_raises_the_balance_exactly_once(browser, server: DashboardServer,
                                                                     admin: User) -> None:
    user = server.add_user()
    page = login(browser, server, user)
    page.goto("/dashboard/billing")
    page.check("input[name=pack][value='500']")
    page.click("text=Place order")
    page.wait_for_selector("text=Order placed")
    row = page.locator("tr[data-order-id]").first
    order_id = row.get_attribute("data-order-id")
    assert "pending" in row.inner_text()
    assert page.locator("[data-testid=balance]").inner_text() == "0"
    screenshot(page, "billing-order-pending")

    first = login(browser, server, admin)
    second = first.context.new_page()  # two admin tabs, both showing the same pending order
    for tab in (first, second):
        tab.goto("/dashboard/admin")
    first.fill(f"tr[data-order-id='{order_id}'] input[name=note]", "bank transfer 42")
    first.click(f"tr[data-order-id='{order_id}'] >> text=Mark paid")
    first.wait_for_selector("text=The order is paid")
    second.click(f"tr[data-order-id='{order_id}'] >> text=Mark paid")  # the stale tab approves again
    assert "is not pending" in second.locator("[role=alert]").inner_text()
    screenshot(first, "admin")

    page.goto("/dashboard/billing")
    assert page.locator("[data-testid=balance]").inner_text() == "500"
    assert server.balance(user) == 500
    history = page.locator(f"tr[data-order-id='{order_id}'] ol.history li").all_inner_texts()
    assert [h.split(" · ")[:2] for h in history] == [["pending", "user"], ["paid", "admin"]]
    grants = [r for r in page.locator("[data-testid=ledger] tbody tr").all_inner_texts() if "grant" in r]
    assert len(grants) == 1 and "+500" in grants[0]
    screenshot(page, "billing-paid")
    page.context.close()
    first.context.close()


def test_a_forged_form_post_without_the_csrf_token_is_refused(browser, server: DashboardServer) -> None:
    user = server.add_user()
    page = login(browser, server, user)
    page.goto("/dashboard/keys")
    status = page.evaluate("""async () => {
        const form = new FormData();
        form.append("name", "forged");  // what a script or a page without the token would send
        const r = await fetch("/dashboard/keys", {method: "POST", body: form});
        return r.status;
    }""")
    assert status == 403
    page.reload()
    assert "forged" not in page.content()
    page.context.close()


def test_the_console_runs_a_real_cutout_at_the_models_price(browser, server: DashboardServer,
                                                            tmp_path: Path) -> None:
    user = server.add_user(credits_=5)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes((160, 120)))
    page = login(browser, server, user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/console")
    api_ids = [m["id"] for m in httpx.get(f"{server.base_url}/api/v1/models").json()["models"]]
    expect(page.locator("#model option")).to_have_count(len(api_ids))  # (no wait_for_function: CSP forbids eval)
    assert page.locator("#model option").evaluate_all("os => os.map(o => o.value)") == api_ids
    page.select_option("#model", "aa-premium-test")  # 3 credits, over u2netp
    page.set_input_files("#image-file", str(photo))
    page.select_option("#output-format", "webp")
    example = page.locator("#example-curl").inner_text()
    assert "<API_KEY>" in example and "aa-premium-test" in example and "output_format=webp" in example
    assert "aio_" not in page.content()
    page.click("#tab-python")
    assert "Bearer <API_KEY>" in page.locator("#example-python").inner_text()

    page.click("#run")
    page.wait_for_selector("#status[data-status=succeeded]", timeout=90_000)
    expect(page.locator("#after")).to_have_js_property("naturalWidth", 160)
    assert page.locator("#result").is_visible()
    href = page.locator("#download").get_attribute("href")
    result = httpx.get(href)
    img = Image.open(io.BytesIO(result.content))
    assert result.headers["content-type"] == "image/webp" and img.size == (160, 120) and img.mode == "RGBA"
    assert server.balance(user) == 2  # the preset's 3 credits, as through the API

    page.focus("#compare-slider")  # the before/after slider moves by keyboard
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert page.eval_on_selector("#after-wrap", "e => e.style.clipPath") == "inset(0px 60% 0px 0px)"
    screenshot(page, "console-result")
    assert errors == []  # no script errors, no CSP violations
    page.goto("/dashboard")
    assert page.locator("img.thumb").count() == 1  # the recent task, with its thumbnail
    screenshot(page, "dashboard")
    page.context.close()


def test_the_decision_panel_lists_every_public_model_cheapest_first(browser, server: DashboardServer) -> None:
    api = httpx.get(f"{server.base_url}/api/v1/models").json()["models"]
    ctx = new_context(browser, server)
    page = ctx.new_page()
    page.goto("/models")  # public: choosing a model needs no account
    cards = page.locator("article[data-model]")
    ids = cards.evaluate_all("cs => cs.map(c => c.dataset.model)")
    prices = [int(c) for c in page.locator("article[data-model] .credits").all_inner_texts()]
    assert ids == [m["id"] for m in api]
    assert prices == sorted(prices) and len(set(prices)) >= 3  # 1, 2 and 3 credits: a real sort
    assert ids.index("zz-middle-test") < ids.index("aa-premium-test")  # by credits, not by name
    fast = page.locator("article[data-model='bg-remover-fast']")
    fast.locator("details.raw summary").click()
    assert all(t in fast.inner_text() for t in ("u2netp-int8.onnx", "Apache-2.0", "available", "png, webp"))
    middle = page.locator("article[data-model='zz-middle-test']")  # figures from the catalog's measured table
    middle.locator("details.raw summary").click()
    figures = middle.locator("table.figures").inner_text()
    assert all(t in figures for t in ("iou", "0.93", "sad", "12.5", "p50_ms", "210"))  # 4 significant digits
    agpl = page.locator("article[data-model='bg-remover-hq-isnet']").inner_text()  # AGPL weights, no opt-in here
    assert "AGPL-3.0" in agpl and "licence not accepted" in agpl
    screenshot(page, "models")
    ctx.close()


def test_every_page_is_readable_on_a_phone(browser, server: DashboardServer, admin: User) -> None:
    page = login(browser, server, admin, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for path, name in [("/dashboard", "dashboard"), ("/dashboard/keys", "keys"), ("/dashboard/billing", "billing"),
                       ("/dashboard/profile", "profile"), ("/dashboard/admin", "admin"), ("/console", "console"),
                       ("/models", "models")]:
        response = page.goto(path)
        assert response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        if path == "/console":  # the catalog arrives by fetch: wait for the examples built from it
            expect(page.locator("#example-curl")).to_contain_text("<API_KEY>")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
        screenshot(page, f"phone-{name}")
    assert errors == []
    page.context.close()
