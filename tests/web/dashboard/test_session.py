"""Sessions over plain HTTP against a real ``bgremover serve --api-only``: cookie flags, CSRF on every form,
the login throttle, logout, admin-only pages, and the pages' security headers."""
from __future__ import annotations

import re

import pytest

from web.dashboard.conftest import DashboardServer, http, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture
def server(api_server: DashboardServer) -> DashboardServer:
    return api_server


def test_a_form_post_without_the_csrf_token_is_refused(server: DashboardServer) -> None:
    user = server.add_user()
    c, token = signed_in(server, user)
    forged = c.post("/dashboard/billing/orders", data={"pack": "2000"})  # what another page could submit
    assert forged.status_code == 403
    wrong = c.post("/dashboard/keys", data={"csrf_token": token[:-2] + "xx", "name": "forged"})
    assert wrong.status_code == 403
    from bgremover.service.keys import list_keys
    from bgremover.service.orders import list_orders

    assert list_orders(server.db, account_id=user.id) == []
    assert list_keys(server.db, account_id=user.id) == []


def test_session_cookie_is_httponly_and_samesite(server: DashboardServer) -> None:
    user = server.add_user()
    r = http(server).post("/login", data={"email": user.email, "password": user.password})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain-http loopback


def test_login_attempts_are_throttled_per_email_and_address(server: DashboardServer) -> None:
    user, bystander = server.add_user(), server.add_user()
    c = http(server)
    for _ in range(10):  # BGREMOVER_LOGIN_ATTEMPTS_PER_15MIN defaults to 10
        assert c.post("/login", data={"email": user.email, "password": "guess-guess-guess"}).status_code == 401
    blocked = c.post("/login", data={"email": user.email, "password": user.password})
    assert blocked.status_code == 429 and "bgr_session" not in blocked.headers.get("set-cookie", "")
    assert c.post("/login", data={"email": bystander.email, "password": bystander.password}).status_code == 303


def test_logout_needs_the_token_and_then_the_cookie_is_dead(server: DashboardServer) -> None:
    user = server.add_user()
    c, token = signed_in(server, user)
    cookie = c.cookies["bgr_session"]
    assert c.post("/logout").status_code == 403  # another site cannot sign the user out
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303
    replay = http(server)
    replay.cookies.set("bgr_session", cookie)
    r = replay.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_admin_pages_and_actions_are_for_admins_only(server: DashboardServer) -> None:
    user = server.add_user()
    c, token = signed_in(server, user)
    assert c.get("/dashboard/admin").status_code == 403
    r = c.post("/dashboard/admin/grants", data={"csrf_token": token, "account_id": str(user.id), "amount": "1000",
                                                "note": "self-service"})
    assert r.status_code == 403 and server.balance(user) == 0


def test_login_redirects_only_to_local_paths(server: DashboardServer) -> None:
    user = server.add_user()
    for target, expected in [("/dashboard/billing", "/dashboard/billing"), ("https://evil.example/", "/dashboard"),
                             ("//evil.example/x", "/dashboard")]:
        r = http(server).post("/login", data={"email": user.email, "password": user.password, "next": target})
        assert r.headers["location"] == expected


def test_pages_carry_security_headers_and_are_not_cached(server: DashboardServer) -> None:
    user = server.add_user()
    c, _ = signed_in(server, user)
    for path in ("/login", "/dashboard/keys", "/models"):
        h = c.get(path).headers
        assert "script-src 'self'" in h["content-security-policy"] and "frame-ancestors 'none'" in h[
            "content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "no-store"
    assert c.get("/static/app.css").headers["x-content-type-options"] == "nosniff"


def test_sign_up_is_off_unless_enabled(server: DashboardServer) -> None:
    assert http(server).get("/signup").status_code == 404
    r = http(server).post("/signup", data={"email": "walk-in@example.com", "password": "long enough password"})
    assert r.status_code == 404 and "bgr_session" not in r.headers.get("set-cookie", "")
    from bgremover.service.accounts import get_account_by_email
    from bgremover.service.errors import AccountNotFound

    with pytest.raises(AccountNotFound):
        get_account_by_email(server.db, "walk-in@example.com")


def test_an_admin_invites_a_user_who_sets_a_password_through_the_link_once(server: DashboardServer) -> None:
    admin = server.add_user(admin=True)
    c, token = signed_in(server, admin)
    page = c.post("/dashboard/admin/invites", data={"csrf_token": token, "email": "invited@example.com"})
    assert page.status_code == 200
    link = re.search(r'id="invite-link-value">([^<]+)<', page.text).group(1)
    assert link.startswith(f"{server.base_url}/invite/")
    assert link not in c.get("/dashboard/admin").text  # shown once
    guest = http(server)
    assert guest.get(link).status_code == 200
    r = guest.post(link, data={"password": "chosen by the user", "confirm_password": "chosen by the user"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard" and "bgr_session" in guest.cookies
    assert guest.get("/dashboard").status_code == 200
    assert http(server).get(link).status_code == 410  # spent
    again = http(server).post(link, data={"password": "taken over later", "confirm_password": "taken over later"})
    assert again.status_code == 410
    login = http(server).post("/login", data={"email": "invited@example.com", "password": "chosen by the user"})
    assert login.status_code == 303
