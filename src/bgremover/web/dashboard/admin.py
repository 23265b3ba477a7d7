"""/dashboard/admin: accounts, creating and inviting users, granting credits with a note, approving orders, every task,
and the margin per upstream provider (credits earned vs what it charged us).

Only accounts with the admin flag (the first one comes from ``bgremover accounts create --admin``) reach
these routes; every action is a CSRF-checked form post that redirects back.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service import credits, orders
from bgremover.service.accounts import create_account
from bgremover.service.admin import list_accounts, list_all_tasks
from bgremover.service.errors import AccountExists, AccountNotFound, InsufficientCredits, ValidationFailed
from bgremover.service.invites import invite_token
from bgremover.service.provider_stats import provider_margins
from bgremover.service.web_sessions import check_new_password
from bgremover.web.dashboard.render import render, see_other
from bgremover.web.dashboard.session import AdminSession, check_form_csrf
from bgremover.web.deps import StateDep

router = APIRouter(include_in_schema=False)

NOTICES = {"created": "The account was created. Give its owner the initial password over a safe channel.",
           "granted": "Credits granted; the ledger records the note.",
           "approved": "The order is paid and its credits were granted."}


def _admin_page(request: Request, state: StateDep, session: AdminSession, *, error: str | None = None,
                status: int = 200, invite_link: str | None = None) -> Response:
    return render(request, "admin.html", session, status=status, error=error, invite_link=invite_link,
                  notice=NOTICES.get(request.query_params.get("done", "")),
                  accounts=list_accounts(state.db), pending=orders.list_orders(state.db, status=orders.PENDING),
                  recent_orders=orders.list_orders(state.db, limit=20), tasks=list_all_tasks(state.db),
                  margins=provider_margins(state.db))


@router.get("/dashboard/admin")
def admin_page(request: Request, state: StateDep, session: AdminSession) -> Response:
    return _admin_page(request, state, session)


@router.post("/dashboard/admin/accounts")
async def create_user(request: Request, state: StateDep, session: AdminSession) -> Response:
    form = await check_form_csrf(request, session)
    try:
        check_new_password(form.get("password", ""))
        await run_in_threadpool(create_account, state.db, email=form.get("email", ""),
                                password=form.get("password", ""), is_admin=form.get("is_admin") == "on")
    except (ValidationFailed, AccountExists) as exc:
        return _admin_page(request, state, session, error=exc.message, status=400)
    return see_other("/dashboard/admin?done=created")


@router.post("/dashboard/admin/invites")
async def invite_user(request: Request, state: StateDep, session: AdminSession) -> Response:
    """An account without a password, and a link (shown once, here) for its owner to choose one."""
    form = await check_form_csrf(request, session)
    try:
        account = await run_in_threadpool(create_account, state.db, email=form.get("email", ""))
        token = invite_token(state.db, state.secret, account_id=account.id)
    except (ValidationFailed, AccountExists) as exc:
        return _admin_page(request, state, session, error=exc.message, status=400)
    link = f"{(state.settings.public_url or str(request.base_url)).rstrip('/')}/invite/{token}"
    return _admin_page(request, state, session, invite_link=link)


@router.post("/dashboard/admin/grants")
async def grant_credits(request: Request, state: StateDep, session: AdminSession) -> Response:
    form = await check_form_csrf(request, session)
    note = form.get("note", "").strip()[:500] or None
    try:
        amount = int(form.get("amount", ""))
        account_id = int(form.get("account_id", ""))
        await run_in_threadpool(credits.grant, state.db, account_id=account_id, amount=amount,
                                note=f"{note or 'dashboard grant'} (by {session.account.email})")
    except ValueError:
        return _admin_page(request, state, session, error="Amount and account must be whole numbers.", status=400)
    except (ValidationFailed, AccountNotFound, InsufficientCredits) as exc:
        return _admin_page(request, state, session, error=exc.message, status=400)
    return see_other("/dashboard/admin?done=granted")


@router.post("/dashboard/admin/orders/{order_id}/paid")
async def approve_order(order_id: str, request: Request, state: StateDep, session: AdminSession) -> Response:
    form = await check_form_csrf(request, session)
    note = form.get("note", "").strip()[:500] or None
    try:
        await run_in_threadpool(orders.mark_paid, state.db, order_id=order_id, source="admin",
                                note=f"{note or 'marked paid'} (by {session.account.email})")
    except (orders.OrderNotFound, orders.OrderNotPending) as exc:
        return _admin_page(request, state, session, error=exc.message, status=409)
    return see_other("/dashboard/admin?done=approved")
