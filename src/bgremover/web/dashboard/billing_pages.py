"""/dashboard/billing: balance and statement (the data and paging of ``GET /billing/credits``, and its CSV),
orders, and top-up.

Placing an order grants nothing: credits arrive only when an admin marks the order paid or the payment
provider's signed webhook confirms it (``payment_webhook.py``).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service import credits, orders, statement
from bgremover.service.errors import ValidationFailed
from bgremover.web.dashboard.render import render, see_other
from bgremover.web.dashboard.session import Session, check_form_csrf
from bgremover.web.deps import StateDep
from bgremover.web.routes.billing import csv_response

router = APIRouter(include_in_schema=False)

NOTICES = {"ordered": "Order placed. Credits are added once the payment is confirmed.",
           "canceled": "The order was canceled."}


def _billing_page(request: Request, state: StateDep, session: Session, *, error: str | None = None,
                  status: int = 200) -> Response:
    account_id = session.account.id
    cursor = request.query_params.get("before", "")
    before = int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) < 16 else None
    return render(request, "billing.html", session, status=status, error=error,
                  notice=NOTICES.get(request.query_params.get("done", "")),
                  balance=credits.balance(state.db, account_id=account_id, limit=0),
                  statement=statement.page(state.db, account_id=account_id, before=before),
                  orders=orders.list_orders(state.db, account_id=account_id),
                  packs=orders.credit_packs(state.settings))


@router.get("/dashboard/billing")
def billing_page(request: Request, state: StateDep, session: Session) -> Response:
    return _billing_page(request, state, session)


@router.get("/dashboard/billing/statement.csv")
async def statement_csv(state: StateDep, session: Session) -> Response:
    return csv_response(await run_in_threadpool(lambda: list(statement.csv_lines(state.db,
                                                                                  account_id=session.account.id))))


@router.post("/dashboard/billing/orders")
async def place_order(request: Request, state: StateDep, session: Session) -> Response:
    form = await check_form_csrf(request, session)
    try:
        pack = int(form.get("pack", ""))
        await run_in_threadpool(orders.create_order, state.db, state.settings, account_id=session.account.id,
                                pack_credits=pack)
    except (ValueError, ValidationFailed):
        return _billing_page(request, state, session, error="Choose one of the credit packs.", status=400)
    return see_other("/dashboard/billing?done=ordered")


@router.post("/dashboard/billing/orders/{order_id}/cancel")
async def cancel_order(order_id: str, request: Request, state: StateDep, session: Session) -> Response:
    await check_form_csrf(request, session)
    try:
        await run_in_threadpool(orders.cancel_order, state.db, order_id=order_id, account_id=session.account.id)
    except (orders.OrderNotFound, orders.OrderNotPending) as exc:
        return _billing_page(request, state, session, error=exc.message, status=409)
    return see_other("/dashboard/billing?done=canceled")
