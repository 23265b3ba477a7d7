"""The payment webhook's rules as functions: signature over timestamp and body, time window, idempotency."""
from __future__ import annotations

import json
import time

import pytest

from bgremover.config import load_settings
from bgremover.service import orders
from bgremover.service.accounts import create_account, get_account
from bgremover.service.payment_webhook import WebhookRejected, handle_event, sign, verify

SECRET = "whsec_unit"
SETTINGS = load_settings(credit_packs="100=5.00")


def test_a_signature_made_with_the_secret_over_timestamp_and_body_verifies():
    """The signature is HMAC-SHA256 over ``timestamp.body`` (what a provider computes, recomputed here with the
    standard library); it verifies up to the tolerance, and one second later the same request is a replay."""
    import hashlib
    import hmac

    body, now = b'{"id": "evt_1"}', 1_700_000_000
    expected = "sha256=" + hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, now, body) == expected
    assert verify(SECRET, timestamp=str(now), signature=expected, body=body, tolerance_s=300, now=now + 300) is None
    with pytest.raises(WebhookRejected, match="replay"):
        verify(SECRET, timestamp=str(now), signature=expected, body=body, tolerance_s=300, now=now + 301)


@pytest.mark.parametrize("case", ["other secret", "other body", "other timestamp", "missing", "not a number"])
def test_anything_else_is_rejected(case):
    body, now = b'{"id": "evt_1"}', 1_700_000_000
    ts, sig, sent = str(now), sign(SECRET, now, body), body
    if case == "other secret":
        sig = sign("whsec_other", now, body)
    elif case == "other body":
        sent = body + b" "
    elif case == "other timestamp":
        ts = str(now + 1)  # the signature covers the timestamp: it cannot be refreshed by a replayer
    elif case == "missing":
        sig = ""
    else:
        ts = "yesterday"
    with pytest.raises(WebhookRejected):
        verify(SECRET, timestamp=ts, signature=sig, body=sent, tolerance_s=300, now=now)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_tolerance_is_a_replay(skew):
    body, now = b'{"id": "evt_1"}', 1_700_000_000
    with pytest.raises(WebhookRejected, match="timestamp"):
        verify(SECRET, timestamp=str(now), signature=sign(SECRET, now, body), body=body, tolerance_s=300,
               now=now + skew)


def _event(order: orders.Order, event_id: str, **data: object) -> bytes:
    payload = {"order_id": order.id, "amount_cents": order.price_cents, "currency": order.currency, **data}
    return json.dumps({"id": event_id, "type": "payment.succeeded", "data": payload}).encode()


def test_an_event_pays_its_order_once_and_a_redelivery_changes_nothing(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=100)
    assert handle_event(db, _event(order, "evt_1")) == "paid"
    assert handle_event(db, _event(order, "evt_1")) == "duplicate"
    assert handle_event(db, _event(order, "evt_2")) == "already_paid"
    assert get_account(db, acc.id).credits_available == 100
    assert [e.source for e in orders.get_order(db, order.id).history] == ["user", "webhook"]


def test_an_event_for_a_wrong_amount_or_an_unknown_order_is_rejected_and_not_recorded(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=100)
    with pytest.raises(WebhookRejected, match="amount"):
        handle_event(db, _event(order, "evt_1", amount_cents=1))
    with pytest.raises(WebhookRejected, match="no order"):
        handle_event(db, _event(order, "evt_2", order_id="nope"))
    with pytest.raises(WebhookRejected):
        handle_event(db, b"not json")
    assert handle_event(db, _event(order, "evt_1")) == "paid"  # the rejected try did not use up the id


def test_other_event_types_are_recorded_and_ignored(db):
    body = json.dumps({"id": "evt_9", "type": "payment.refunded", "data": {}}).encode()
    assert handle_event(db, body) == "ignored"
    assert handle_event(db, body) == "duplicate"


def test_sign_matches_a_hand_computed_hmac():
    import hashlib
    import hmac

    ts, body = int(time.time()), b"{}"
    expected = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, ts, body) == "sha256=" + expected


def test_a_payment_for_a_canceled_order_grants_nothing_and_says_so(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=100)
    orders.cancel_order(db, order_id=order.id, account_id=acc.id)
    assert handle_event(db, _event(order, "evt_late")) == "order_canceled"
    assert get_account(db, acc.id).credits_available == 0
