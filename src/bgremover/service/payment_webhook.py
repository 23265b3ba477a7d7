"""The payment provider's confirmation: HMAC-signed, replay-protected, idempotent by event id.

The provider sends ``X-Payment-Timestamp: <unix seconds>`` and
``X-Payment-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`` with a JSON body
``{"id": "<event id>", "type": "payment.succeeded", "data": {"order_id", "amount_cents", "currency"}}``.

* Signature: checked over the raw bytes in constant time, before the body is parsed.
* Replay: a timestamp further than the tolerance from now is refused, so a captured request dies with it;
  inside the window, the event id is the guard.
* Idempotency: the event id is inserted into ``payment_events`` in the transaction that pays the order;
  a redelivery collides on the primary key and changes nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bgremover.service.constant_time import same_secret
from bgremover.service.errors import OrderNotFound, WebhookRejected
from bgremover.service.orders import get_order, pay_order_in
from bgremover.store.billing_tables import credit_orders, payment_events
from bgremover.store.database import Database
from bgremover.store.tables import utcnow

TIMESTAMP_HEADER = "X-Payment-Timestamp"
SIGNATURE_HEADER = "X-Payment-Signature"
PAID_EVENT = "payment.succeeded"

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (what the provider computes)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, *, timestamp: str | None, signature: str | None, body: bytes, tolerance_s: int,
           now: float | None = None) -> None:
    if not timestamp or not signature:
        raise WebhookRejected(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookRejected(f"{TIMESTAMP_HEADER} is not unix seconds") from None
    if not same_secret(sign(secret, ts, body), signature.strip()):
        raise WebhookRejected("the signature does not match")
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        raise WebhookRejected(f"the timestamp is more than {tolerance_s}s away from now: a replay or a skewed clock")


def _parse(body: bytes) -> tuple[str, str, dict[str, Any]]:
    try:
        event = json.loads(body)
        event_id, kind, data = str(event["id"]), str(event["type"]), dict(event.get("data") or {})
    except (ValueError, KeyError, TypeError):
        raise WebhookRejected("the body is not an event: {id, type, data}") from None
    if not event_id or len(event_id) > 200:
        raise WebhookRejected("the event id is empty or too long")
    return event_id, kind, data


def handle_event(db: Database, body: bytes) -> str:
    """Apply a verified event; returns the outcome: paid | already_paid | order_canceled | duplicate | ignored."""
    event_id, kind, data = _parse(body)
    order_id = str(data.get("order_id") or "") or None
    if kind == PAID_EVENT:
        if order_id is None:
            raise WebhookRejected("payment.succeeded without data.order_id")
        try:
            order = get_order(db, order_id)
        except OrderNotFound:
            raise WebhookRejected(f"no order {order_id}") from None
        if (data.get("amount_cents"), str(data.get("currency", "")).upper()) != (order.price_cents, order.currency):
            raise WebhookRejected(f"the amount paid does not match order {order_id}")
    try:
        with db.write() as conn:
            conn.execute(insert(payment_events).values(event_id=event_id, order_id=order_id, outcome="ignored",
                                                       received_at=utcnow()))
            if kind != PAID_EVENT:
                return "ignored"
            if pay_order_in(conn, order_id=order_id, source="webhook", note=f"event {event_id}"):  # type: ignore[arg-type]
                outcome = "paid"
            else:  # paid before (by an admin or another event), or canceled: then a person must look
                status = conn.execute(select(credit_orders.c.status).where(credit_orders.c.id == order_id)).scalar()
                outcome = "already_paid" if status == "paid" else f"order_{status}"
                if status != "paid":
                    log.warning("payment event %s confirms order %s, which is %s", event_id, order_id, status)
            conn.execute(update(payment_events).where(payment_events.c.event_id == event_id).values(outcome=outcome))
            return outcome
    except IntegrityError:  # this event id was processed before: the transaction above rolled back whole
        return "duplicate"
