"""Credit orders: a pack's price comes from the settings, and paying an order grants its credits exactly once."""
from __future__ import annotations

import threading

import pytest

from bgremover.config import load_settings
from bgremover.service import orders
from bgremover.service.accounts import create_account, get_account
from bgremover.service.credits import balance, ledger_sum
from bgremover.service.errors import ValidationFailed

SETTINGS = load_settings(credit_packs="100=5.00,500=20.00", billing_currency="eur")


def test_packs_are_parsed_from_the_setting_cheapest_first():
    packs = orders.parse_packs("500=20, 100=4.99", "usd")
    assert [(p.credits, p.price_cents, p.currency, p.price) for p in packs] == [
        (100, 499, "USD", "4.99"), (500, 2000, "USD", "20.00")]


@pytest.mark.parametrize("bad", ["100", "100=abc", "0=1.00", "100=-1", "100=1.005"])
def test_a_malformed_pack_setting_fails_loudly(bad):
    with pytest.raises(ValueError, match="BGREMOVER_CREDIT_PACKS"):
        orders.parse_packs(bad, "EUR")


def test_a_new_order_is_pending_at_the_configured_price_and_grants_nothing(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=500)
    assert (order.status, order.credits, order.price_cents, order.currency) == ("pending", 500, 2000, "EUR")
    assert [(e.status, e.source) for e in order.history] == [("pending", "user")]
    assert get_account(db, acc.id).credits_available == 0


def test_only_configured_packs_can_be_ordered(db):
    acc = create_account(db, email="buyer@example.com")
    with pytest.raises(ValidationFailed):
        orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=123)


def test_marking_an_order_paid_grants_its_credits_once(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=100)
    paid = orders.mark_paid(db, order_id=order.id, note="bank ref 7")
    assert paid.status == "paid" and paid.paid_at is not None
    assert [(e.status, e.source, e.note) for e in paid.history][-1] == ("paid", "admin", "bank ref 7")
    with pytest.raises(orders.OrderNotPending):
        orders.mark_paid(db, order_id=order.id)
    assert get_account(db, acc.id).credits_available == 100 == ledger_sum(db, account_id=acc.id)
    assert [(e.reason, e.delta) for e in balance(db, account_id=acc.id).ledger] == [("grant", 100)]


def test_a_canceled_order_cannot_be_paid_and_another_account_cannot_cancel_it(db):
    owner = create_account(db, email="owner@example.com")
    other = create_account(db, email="other@example.com")
    order = orders.create_order(db, SETTINGS, account_id=owner.id, pack_credits=100)
    with pytest.raises(orders.OrderNotFound):
        orders.cancel_order(db, order_id=order.id, account_id=other.id)
    assert orders.cancel_order(db, order_id=order.id, account_id=owner.id).status == "canceled"
    with pytest.raises(orders.OrderNotPending):
        orders.mark_paid(db, order_id=order.id)
    assert get_account(db, owner.id).credits_available == 0


def test_concurrent_approvals_of_one_order_grant_once(db):
    acc = create_account(db, email="buyer@example.com")
    order = orders.create_order(db, SETTINGS, account_id=acc.id, pack_credits=500)
    outcomes: list[str] = []

    def approve() -> None:
        try:
            orders.mark_paid(db, order_id=order.id)
            outcomes.append("paid")
        except orders.OrderNotPending:
            outcomes.append("not pending")

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["not pending"] * 7 + ["paid"]
    assert get_account(db, acc.id).credits_available == 500


def test_orders_list_newest_first_per_account_or_all(db):
    a = create_account(db, email="a@example.com")
    b = create_account(db, email="b@example.com")
    first = orders.create_order(db, SETTINGS, account_id=a.id, pack_credits=100)
    second = orders.create_order(db, SETTINGS, account_id=b.id, pack_credits=500)
    assert [o.id for o in orders.list_orders(db, account_id=a.id)] == [first.id]
    assert [o.id for o in orders.list_orders(db)] == [second.id, first.id]
    assert [o.email for o in orders.list_orders(db, status="pending")] == ["b@example.com", "a@example.com"]
