"""In Debian's Chromium: the billing statement pages like the API and exports CSV; on a 390 px phone the
navigation takes two lines at most, the console's curl example wraps inside its box instead of being cut
off, and the console writes dates as every other page does (UTC, ISO order). Screenshots go to /tmp/b13/."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from web.dashboard.conftest import DashboardServer, User, login, start_server
from web.images import photo_bytes

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SHOTS = Path("/tmp/b13")
PAGES = ["/dashboard", "/dashboard/keys", "/dashboard/billing", "/dashboard/profile", "/dashboard/admin",
         "/console", "/models"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    svc = start_server(tmp_path_factory.mktemp("dash-phone"), workers=1)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def admin(server: DashboardServer) -> User:
    return server.add_user(admin=True, credits_=5)


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def test_the_billing_statement_pages_like_the_api_and_exports_csv(browser, server: DashboardServer) -> None:
    from bgremover.service import credits

    user = server.add_user()
    for i in range(23):
        credits.grant(server.db, account_id=user.id, amount=1, note=f"grant {i}")
    page = login(browser, server, user)
    page.goto("/dashboard/billing")
    rows = page.locator("[data-testid=ledger] tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("grant 22")
    page.locator("[data-testid=older]").click()
    expect(rows).to_have_count(3)
    expect(rows.last).to_contain_text("grant 0")
    expect(page.locator("[data-testid=older]")).to_have_count(0)
    href = page.locator("[data-testid=statement-csv]").get_attribute("href")
    exported = page.request.get(href)  # with the page's session cookie
    assert exported.ok and exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text())))
    assert len(lines) == 23 and lines[-1]["balance_after"] == "23"
    page.context.close()


def test_on_a_phone_the_navigation_takes_at_most_two_lines_on_every_page(browser, server: DashboardServer,
                                                                         admin: User) -> None:
    page = login(browser, server, admin, **PHONE)
    for path in PAGES:
        assert page.goto(path).status == 200
        link = page.locator(".top nav a").first
        line_height = link.bounding_box()["height"]
        header = page.locator("header.top").bounding_box()
        assert header["height"] <= 2 * line_height + 40, f"{path}: header {header['height']}px high on a phone"
        current = page.locator(".top nav a[aria-current=page]")
        if current.count():
            box = current.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{path}: the current page's link is off screen"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        _shot(page, "phone-" + (path.strip("/").replace("/", "-") or "home"))
    page.context.close()


def test_on_a_phone_the_curl_example_wraps_inside_its_box(browser, server: DashboardServer, admin: User) -> None:
    page = login(browser, server, admin, **PHONE)
    page.goto("/console")
    example = page.locator("#example-curl")
    expect(example).to_contain_text("<API_KEY>")
    box = example.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the example's box runs off screen: {box}"
    hidden = example.evaluate("e => e.scrollWidth - e.clientWidth")
    assert hidden <= 0, f"{hidden}px of the example are hidden past the right edge (phones show no scrollbar)"
    assert "<API_KEY>" in example.inner_text() and "curl -X POST" in example.inner_text()
    card = example.evaluate("e => { const c = e.closest('section'); const r = c.getBoundingClientRect();"
                            " return [r.left, r.right, c.scrollWidth - c.clientWidth]; }")
    assert card[0] >= 0 and card[1] <= 390 and card[2] <= 0, f"the card is wider than the phone: {card}"
    example.scroll_into_view_if_needed()
    _shot(page, "phone-console-curl")
    page.context.close()


def test_the_console_writes_dates_in_utc_iso_like_every_other_page(browser, server: DashboardServer,
                                                                   tmp_path: Path) -> None:
    user = server.add_user(credits_=2)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes((160, 120)))
    page = login(browser, server, user, locale="en-US", timezone_id="America/New_York", **PHONE)
    page.goto("/console")
    expect(page.locator("#model option").first).to_be_attached()
    page.select_option("#model", "bg-remover-fast")
    page.set_input_files("#image-file", str(photo))
    page.click("#run")
    page.wait_for_selector("#status[data-status=succeeded]", timeout=90_000)
    meta = page.locator("#result-meta").inner_text()
    assert re.search(r"link expires \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$", meta), meta
    page.locator("#result-meta").scroll_into_view_if_needed()
    _shot(page, "phone-console-result")
    page.goto("/dashboard")
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", page.locator("main").inner_text())
    page.context.close()
