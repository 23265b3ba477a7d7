"""Tables of the dashboard: browser sessions, credit-pack orders, their status history, processed webhooks.

They share :data:`bgremover.store.tables.metadata`, so Alembic and ``metadata.create_all`` see one schema.
Orders are append-only in spirit: an order's status changes by conditional UPDATE and each change is
written to ``order_events``; a webhook's event id is recorded in ``payment_events`` in the same
transaction that pays the order, which is what makes a redelivered webhook harmless.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from bgremover.store.tables import UtcDateTime, metadata

web_sessions = Table(
    "web_sessions", metadata,
    # sha256 of the cookie value: a leaked table row cannot be replayed as a cookie.
    Column("id_hash", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

credit_orders = Table(
    "credit_orders", metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(12), nullable=False),  # pending | paid | canceled
    Column("created_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime),
    Index("ix_credit_orders_account_created", "account_id", "created_at"),
    Index("ix_credit_orders_status", "status"),
)

order_events = Table(
    "order_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("credit_orders.id"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("source", String(20), nullable=False),  # user | admin | webhook
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_order_events_order", "order_id", "id"),
)

payment_events = Table(
    "payment_events", metadata,
    Column("event_id", String(200), primary_key=True),  # the provider's id: a redelivery collides here
    Column("order_id", String(36)),
    Column("outcome", String(20), nullable=False),  # paid | already_paid | ignored
    Column("received_at", UtcDateTime, nullable=False),
)
