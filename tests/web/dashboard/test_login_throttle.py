"""The login throttle against a real ``bgremover serve``: X-Forwarded-For counts only from a configured proxy,
each client address has a budget of failures, and an attacker cannot lock a user out of their account.

The test client is the "proxy" (it connects from 127.0.0.1); the X-Forwarded-For values are only header
text (documentation addresses, RFC 5737): no traffic leaves loopback."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from web.dashboard.conftest import DashboardServer, http
from web.service_process import embedded_env

pytestmark = pytest.mark.slow
GUESS = "guess-guess-guess"


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    root = tmp_path_factory.mktemp("behind-proxy")
    env = embedded_env(root / "data", BGREMOVER_TRUSTED_PROXIES="127.0.0.1/32, ::1/128")
    svc = DashboardServer(mode="embedded", env=env, data_dir=root / "data", log_path=root / "serve.log",
                          args=["--api-only"])
    yield svc.start()  # type: ignore[misc]
    svc.stop()


def _login(server: DashboardServer, email: str, password: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    return http(server).post("/login", data={"email": email, "password": password}, headers=headers).status_code


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_changes_nothing(api_server: DashboardServer) -> None:
    user = api_server.add_user()
    for i in range(10):
        assert _login(api_server, user.email, GUESS, f"192.0.2.{i + 1}") == 401
    assert _login(api_server, user.email, user.password, "192.0.2.200") == 429, "rotating the header escaped"


def test_behind_the_proxy_an_attacker_is_stopped_and_the_user_still_signs_in(behind_proxy: DashboardServer) -> None:
    victim = behind_proxy.add_user()
    for _ in range(10):
        assert _login(behind_proxy, victim.email, GUESS, "203.0.113.7") == 401
    assert _login(behind_proxy, victim.email, victim.password, "203.0.113.7") == 429  # even the right password
    for i in range(5):  # more addresses, more failures on the same account: it slows down, it never locks
        assert _login(behind_proxy, victim.email, GUESS, f"203.0.113.{20 + i}") == 401
    assert _login(behind_proxy, victim.email, victim.password, "198.51.100.4") == 303, "the user was locked out"


def test_one_address_has_a_budget_of_failures_across_all_emails(behind_proxy: DashboardServer) -> None:
    user = behind_proxy.add_user()
    for i in range(30):  # BGREMOVER_LOGIN_FAILURES_PER_ADDRESS_15MIN defaults to 30
        assert _login(behind_proxy, f"nobody-{i}@example.com", GUESS, "203.0.113.99") == 401
    assert _login(behind_proxy, user.email, user.password, "203.0.113.99") == 429
    assert _login(behind_proxy, user.email, user.password, "198.51.100.5") == 303
