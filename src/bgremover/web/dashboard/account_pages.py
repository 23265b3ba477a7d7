"""The signed-in user's pages: overview, API keys and profile.

A new key's plaintext exists only in the response to the POST that created it (rendered once, with a copy
button, never stored or redirected through a URL); afterwards the page lists it by prefix only.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service import credits, keys
from bgremover.service.errors import KeyNotFound, ValidationFailed
from bgremover.service.tasks import list_tasks
from bgremover.service.usage import daily_usage
from bgremover.service.web_sessions import change_password
from bgremover.web.dashboard.chart import usage_chart
from bgremover.web.dashboard.render import render, see_other
from bgremover.web.dashboard.session import Session, check_form_csrf
from bgremover.web.deps import StateDep
from bgremover.web.views import task_public

router = APIRouter(include_in_schema=False)

NOTICES = {"revoked": "The key was revoked. Requests with it now answer 401.",
           "password": "Your password was changed. Other sessions were signed out."}


@router.get("/dashboard")
def overview(request: Request, state: StateDep, session: Session) -> Response:
    bal = credits.balance(state.db, account_id=session.account.id, limit=5)
    recent, total = list_tasks(state.db, account_id=session.account.id, limit=8)
    chart = usage_chart(daily_usage(state.db, account_id=session.account.id))
    return render(request, "dashboard.html", session, balance=bal, total_tasks=total, chart=chart,
                  tasks=[task_public(state, request, t) for t in recent])


def _keys_page(request: Request, state: StateDep, session: Session, *, new_key: str | None = None,
               error: str | None = None, status: int = 200) -> Response:
    listing = keys.list_keys(state.db, account_id=session.account.id)
    return render(request, "keys.html", session, status=status, keys=listing[::-1], new_key=new_key, error=error,
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.get("/dashboard/keys")
def keys_page(request: Request, state: StateDep, session: Session) -> Response:
    return _keys_page(request, state, session)


@router.post("/dashboard/keys")
async def create_key(request: Request, state: StateDep, session: Session) -> Response:
    form = await check_form_csrf(request, session)
    name = form.get("name", "").strip()
    if not name or len(name) > 100:
        return _keys_page(request, state, session, error="Give the key a name of 1 to 100 characters.", status=400)
    _info, plaintext = await run_in_threadpool(keys.create_key, state.db, state.secret,
                                               account_id=session.account.id, name=name)
    return _keys_page(request, state, session, new_key=plaintext)


@router.post("/dashboard/keys/{key_id}/revoke")
async def revoke_key(key_id: int, request: Request, state: StateDep, session: Session) -> Response:
    await check_form_csrf(request, session)
    try:
        await run_in_threadpool(keys.revoke_key, state.db, key_id=key_id, account_id=session.account.id)
    except KeyNotFound:
        return _keys_page(request, state, session, error="No such key.", status=404)
    return see_other("/dashboard/keys?done=revoked")


@router.get("/dashboard/profile")
def profile_page(request: Request, state: StateDep, session: Session) -> Response:
    return render(request, "profile.html", session, settings=state.settings, error=None,
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.post("/dashboard/profile/password")
async def password(request: Request, state: StateDep, session: Session) -> Response:
    form = await check_form_csrf(request, session)
    if form.get("new_password", "") != form.get("confirm_password", ""):
        error = "The new password and its confirmation differ."
    else:
        try:
            await run_in_threadpool(change_password, state.db, session, current=form.get("current_password", ""),
                                    new=form.get("new_password", ""))
            return see_other("/dashboard/profile?done=password")
        except ValidationFailed as exc:
            error = exc.message
    return render(request, "profile.html", session, status=400, settings=state.settings, error=error, notice=None)
