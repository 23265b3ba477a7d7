"""/docs in Debian's Chromium, offline: the API reference renders the OpenAPI document the service serves
(3.1), with the remove-bg operation and its request schema, from assets served by the service itself."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from web.dashboard.conftest import DashboardServer, new_context, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOT = Path("/tmp/b13/docs.png")


def test_the_api_reference_renders_the_remove_bg_operation_and_its_schema(browser, api_server: DashboardServer):
    assert api_server.client().get("/openapi.json").json()["openapi"].startswith("3.1")
    page = new_context(browser, api_server, viewport={"width": 1280, "height": 900}).new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    assert page.goto("/docs").status == 200
    operation = page.locator("#operations-remove-bg-remove_bg_api_v1_images_tools_remove_bg_post")
    expect(operation).to_be_visible(timeout=20_000)
    expect(operation).to_contain_text("/api/v1/images/tools/remove-bg")
    expect(page.locator("body")).not_to_contain_text("Unable to render this definition")
    operation.locator(".opblock-summary").click()  # open it: the request body and its schema
    body = operation.locator(".opblock-section-request-body")
    expect(body).to_contain_text("application/json")
    body.get_by_text("Schema", exact=True).first.click()
    for field in ("image", "output_format", "bg_color", "crop_margin"):
        expect(body).to_contain_text(field)
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    operation.screenshot(path=str(SHOT))
    screenshot(page, "api-docs")
    assert all(url.startswith(api_server.base_url) for url in requested), "the reference needs no other host"
    assert errors == []
    page.context.close()
