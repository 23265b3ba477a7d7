"""POST /billing/webhooks/payment: only a genuine, fresh, signed event pays an order, and only once.

Plain HTTP against a real ``bgremover serve --api-only``; the orders are placed through the dashboard's
own form (signed in, with the CSRF token), as a user would.
"""
from __future__ import annotations

import json
import time

import httpx
import pytest

from bgremover.service.payment_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from web.dashboard.conftest import WEBHOOK_SECRET, DashboardServer, User, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture
def server(api_server: DashboardServer) -> DashboardServer:
    return api_server


def place_order(server: DashboardServer, user: User, pack: int) -> dict:
    c, token = signed_in(server, user)
    assert c.post("/dashboard/billing/orders", data={"csrf_token": token, "pack": str(pack)}).status_code == 303
    from bgremover.service.orders import list_orders

    order = list_orders(server.db, account_id=user.id)[0]
    return {"id": order.id, "amount_cents": order.price_cents, "currency": order.currency, "credits": order.credits}


def event(order: dict, event_id: str) -> bytes:
    return json.dumps({"id": event_id, "type": "payment.succeeded",
                       "data": {"order_id": order["id"], "amount_cents": order["amount_cents"],
                                "currency": order["currency"]}}).encode()


def deliver(server: DashboardServer, body: bytes, *, ts: int | None = None, secret: str = WEBHOOK_SECRET,
            signature: str | None = None) -> httpx.Response:
    ts = int(time.time()) if ts is None else ts
    headers = {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature or sign(secret, ts, body),
               "Content-Type": "application/json"}
    return httpx.post(f"{server.base_url}/billing/webhooks/payment", content=body, headers=headers, timeout=30)


def test_a_genuine_event_pays_the_order_and_grants_its_credits_exactly_once(server: DashboardServer) -> None:
    user = server.add_user()
    order = place_order(server, user, 500)
    assert server.balance(user) == 0  # an order alone grants nothing
    body = event(order, "evt_good_1")
    first = deliver(server, body)
    assert first.status_code == 200 and first.json() == {"outcome": "paid"}
    assert server.balance(user) == 500
    again = deliver(server, body)  # the provider redelivers the same event, freshly signed
    assert again.status_code == 200 and again.json() == {"outcome": "duplicate"}
    other = deliver(server, event(order, "evt_good_2"))  # a second event for the same, already paid order
    assert other.json() == {"outcome": "already_paid"}
    assert server.balance(user) == 500
    from bgremover.service.credits import balance
    from bgremover.service.orders import get_order

    grants = [e for e in balance(server.db, account_id=user.id).ledger if e.reason == "grant"]
    assert [(g.delta, g.note) for g in grants] == [(500, f"order {order['id']}")]
    history = get_order(server.db, order["id"]).history
    assert [(h.status, h.source) for h in history] == [("pending", "user"), ("paid", "webhook")]


@pytest.mark.parametrize("tamper", ["wrong secret", "body changed", "no signature", "garbage signature"])
def test_a_badly_signed_event_is_refused_and_changes_nothing(server: DashboardServer, tamper: str) -> None:
    user = server.add_user()
    order = place_order(server, user, 100)
    body = event(order, f"evt_bad_{tamper}")
    ts = int(time.time())
    if tamper == "wrong secret":
        r = deliver(server, body, secret="whsec_not_the_one")
    elif tamper == "body changed":
        r = deliver(server, body.replace(b"evt_bad", b"evt_BAD"), signature=sign(WEBHOOK_SECRET, ts, body), ts=ts)
    elif tamper == "no signature":
        r = httpx.post(f"{server.base_url}/billing/webhooks/payment", content=body,
                       headers={TIMESTAMP_HEADER: str(ts)}, timeout=30)
    else:
        r = deliver(server, body, signature="sha256=" + "0" * 64)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "webhook_rejected"
    assert server.balance(user) == 0
    # the refused delivery did not burn the event id: the genuine one still pays
    assert deliver(server, body).json() == {"outcome": "paid"}
    assert server.balance(user) == 100


def test_a_replayed_event_outside_the_time_window_is_refused(server: DashboardServer) -> None:
    user = server.add_user()
    order = place_order(server, user, 100)
    body = event(order, "evt_replayed")
    stale = int(time.time()) - 3600  # a captured request, correctly signed, an hour old
    r = deliver(server, body, ts=stale)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"
    assert "timestamp" in r.json()["error"]["message"]
    future = deliver(server, body, ts=int(time.time()) + 3600)
    assert future.status_code == 400
    assert server.balance(user) == 0


def test_an_event_whose_amount_differs_from_the_order_is_refused(server: DashboardServer) -> None:
    user = server.add_user()
    order = place_order(server, user, 2000)
    cheap = dict(order, amount_cents=1)
    r = deliver(server, event(cheap, "evt_underpaid"))
    assert r.status_code == 400 and "amount" in r.json()["error"]["message"]
    assert server.balance(user) == 0
