"""Credit packs and orders: a user picks a pack and gets a pending order; paying it grants the credits, once.

    pending ──admin marks paid / payment webhook──▶ paid     (credits granted in the same transaction)
       └──────────────the user cancels────────────▶ canceled

Every move is a conditional UPDATE (``WHERE status = 'pending'``) that writes a row to the order's status
history and, for ``paid``, a ``grant`` to the credit ledger through :func:`credits.grant_in`, all in one
transaction: an admin click and a webhook racing for the same order grant the credits exactly once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bgremover.config import Settings
from bgremover.service import credits
from bgremover.service.errors import OrderNotFound, OrderNotPending, ValidationFailed
from bgremover.store.billing_tables import credit_orders, order_events
from bgremover.store.database import Database
from bgremover.store.tables import accounts, utcnow

PENDING, PAID, CANCELED = "pending", "paid", "canceled"


@dataclass(frozen=True)
class CreditPack:
    credits: int
    price_cents: int
    currency: str

    @property
    def price(self) -> str:
        return f"{self.price_cents // 100}.{self.price_cents % 100:02d}"


@dataclass(frozen=True)
class OrderEvent:
    status: str
    source: str  # user | admin | webhook
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class Order:
    id: str
    account_id: int
    email: str
    credits: int
    price_cents: int
    currency: str
    status: str
    created_at: datetime
    paid_at: datetime | None
    history: tuple[OrderEvent, ...]

    @property
    def price(self) -> str:
        return CreditPack(self.credits, self.price_cents, self.currency).price


def parse_packs(spec: str, currency: str) -> list[CreditPack]:
    """``"100=5.00,500=20.00"`` → packs sorted by credits; a malformed setting fails at start-up, loudly."""
    packs = []
    for item in filter(None, (p.strip() for p in spec.split(","))):
        try:
            n, price = item.split("=", 1)
            cents = Decimal(price.strip()) * 100
            if cents != cents.to_integral_value() or cents < 0 or int(n) <= 0:
                raise ValueError(item)
            packs.append(CreditPack(int(n), int(cents), currency.upper()))
        except (ValueError, InvalidOperation):
            raise ValueError(f"BGREMOVER_CREDIT_PACKS: {item!r} is not credits=price (e.g. 100=5.00)") from None
    return sorted(packs, key=lambda p: p.credits)


def credit_packs(settings: Settings) -> list[CreditPack]:
    return parse_packs(settings.credit_packs, settings.billing_currency)


def _event(conn: Connection, order_id: str, status: str, source: str, note: str | None) -> None:
    conn.execute(insert(order_events).values(order_id=order_id, status=status, source=source, note=note,
                                             created_at=utcnow()))


def create_order(db: Database, settings: Settings, *, account_id: int, pack_credits: int) -> Order:
    """A pending order for one of the configured packs (the price comes from the setting, never the client)."""
    pack = next((p for p in credit_packs(settings) if p.credits == pack_credits), None)
    if pack is None:
        raise ValidationFailed(f"no credit pack of {pack_credits} credits")
    order_id = str(uuid.uuid4())
    with db.write() as conn:
        conn.execute(insert(credit_orders).values(id=order_id, account_id=account_id, credits=pack.credits,
                                                  price_cents=pack.price_cents, currency=pack.currency,
                                                  status=PENDING, created_at=utcnow()))
        _event(conn, order_id, PENDING, "user", None)
    return get_order(db, order_id)


def pay_order_in(conn: Connection, *, order_id: str, source: str, note: str | None = None) -> bool:
    """Inside the caller's transaction: pending → paid plus the grant; False if it was not pending."""
    row = conn.execute(select(credit_orders.c.account_id, credit_orders.c.credits)
                       .where(credit_orders.c.id == order_id)).first()
    if row is None:
        raise OrderNotFound(f"no order {order_id}")
    res = conn.execute(update(credit_orders).where(credit_orders.c.id == order_id, credit_orders.c.status == PENDING)
                       .values(status=PAID, paid_at=utcnow()))
    if res.rowcount != 1:
        return False
    _event(conn, order_id, PAID, source, note)
    credits.grant_in(conn, account_id=row.account_id, amount=int(row.credits), note=f"order {order_id}")
    return True


def mark_paid(db: Database, *, order_id: str, source: str = "admin", note: str | None = None) -> Order:
    with db.write() as conn:
        if not pay_order_in(conn, order_id=order_id, source=source, note=note):
            raise OrderNotPending(f"order {order_id} is not pending")
    return get_order(db, order_id)


def cancel_order(db: Database, *, order_id: str, account_id: int | None, source: str = "user") -> Order:
    """Cancel a pending order; ``account_id`` restricts it to the owner's orders (another's: not found)."""
    cond = [credit_orders.c.id == order_id]
    if account_id is not None:
        cond.append(credit_orders.c.account_id == account_id)
    with db.write() as conn:
        if conn.execute(select(credit_orders.c.id).where(*cond)).first() is None:
            raise OrderNotFound(f"no order {order_id}")
        res = conn.execute(update(credit_orders).where(*cond, credit_orders.c.status == PENDING)
                           .values(status=CANCELED))
        if res.rowcount != 1:
            raise OrderNotPending(f"order {order_id} is not pending")
        _event(conn, order_id, CANCELED, source, None)
    return get_order(db, order_id)


def _load(conn: Connection, cond: list[Any], limit: int) -> list[Order]:
    rows = conn.execute(select(credit_orders, accounts.c.email)
                        .join(accounts, accounts.c.id == credit_orders.c.account_id).where(*cond)
                        .order_by(credit_orders.c.created_at.desc(), credit_orders.c.id).limit(limit)).all()
    ids = [r.id for r in rows]
    events = conn.execute(select(order_events).where(order_events.c.order_id.in_(ids))
                          .order_by(order_events.c.id)).all() if ids else []
    history: dict[str, list[OrderEvent]] = {}
    for e in events:
        history.setdefault(e.order_id, []).append(OrderEvent(e.status, e.source, e.note, e.created_at))
    return [Order(r.id, r.account_id, r.email, int(r.credits), int(r.price_cents), r.currency, r.status,
                  r.created_at, r.paid_at, tuple(history.get(r.id, ()))) for r in rows]


def list_orders(db: Database, *, account_id: int | None = None, status: str | None = None,
                limit: int = 50) -> list[Order]:
    """Newest first, each with its status history; ``account_id`` None lists every account's (admins)."""
    cond = []
    if account_id is not None:
        cond.append(credit_orders.c.account_id == account_id)
    if status is not None:
        cond.append(credit_orders.c.status == status)
    with db.read() as conn:
        return _load(conn, cond, limit)


def get_order(db: Database, order_id: str, *, account_id: int | None = None) -> Order:
    cond = [credit_orders.c.id == order_id]
    if account_id is not None:
        cond.append(credit_orders.c.account_id == account_id)
    with db.read() as conn:
        found = _load(conn, cond, 1)
    if not found:
        raise OrderNotFound(f"no order {order_id}")
    return found[0]
