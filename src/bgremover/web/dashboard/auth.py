"""Log in, log out, accept an admin's invitation, and (when ``BGREMOVER_SIGNUP_ENABLED``) sign up.

The login form has no session yet, so it carries no CSRF token; what protects it is SameSite and the
throttle per email and client address; the invitation form is authorised by its signed link. Logout is a POST
with the session's token, so no other site can end a user's session. A failed login answers the same for an
unknown email and a wrong password.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service.accounts import create_account, verify_password
from bgremover.service.errors import AccountExists, ValidationFailed
from bgremover.service.invites import InviteInvalid, accept_invite, check_invite
from bgremover.service.web_sessions import check_new_password, close_session, open_session
from bgremover.web.dashboard.render import render, see_other
from bgremover.web.dashboard.session import (COOKIE, MaybeSession, Session, check_form_csrf, clear_session_cookie,
                                             login_allowed, set_session_cookie)
from bgremover.web.deps import StateDep

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect to another site (``//evil`` or ``https://…``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/dashboard"


@router.get("/login")
def login_page(request: Request, session: MaybeSession, next: str | None = None) -> Response:
    if session is not None:
        return see_other(_safe_next(next))
    return render(request, "login.html", None, next=_safe_next(next), error=None, email="")


@router.post("/login")
async def login(request: Request, state: StateDep) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    if not login_allowed(state, request, email):
        return render(request, "login.html", None, status=429, next=target, email=email,
                      error="Too many sign-in attempts. Wait 15 minutes and try again.")
    account = await run_in_threadpool(verify_password, state.db, email, password)
    if account is None:
        return render(request, "login.html", None, status=401, next=target, email=email,
                      error="Wrong email or password.")
    value = await run_in_threadpool(open_session, state.db, state.settings, account_id=account.id)
    response = see_other(target)
    set_session_cookie(request, response, value, state.settings.session_ttl_s)
    return response


@router.post("/logout")
async def logout(request: Request, state: StateDep, session: Session) -> Response:
    await check_form_csrf(request, session)
    await run_in_threadpool(close_session, state.db, request.cookies.get(COOKIE))
    response = see_other("/login")
    clear_session_cookie(request, response)
    return response


@router.get("/signup")
def signup_page(request: Request, state: StateDep, session: MaybeSession) -> Response:
    if not state.settings.signup_enabled:
        return render(request, "message.html", session, status=404, title="Sign-up is closed",
                      message="Ask an administrator of this service for an account.")
    return render(request, "signup.html", None, error=None, email="")


@router.post("/signup")
async def signup(request: Request, state: StateDep) -> Response:
    if not state.settings.signup_enabled:
        return render(request, "message.html", None, status=404, title="Sign-up is closed",
                      message="Ask an administrator of this service for an account.")
    form = await request.form(max_files=0, max_fields=5)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    if not login_allowed(state, request, email):
        return render(request, "signup.html", None, status=429, email=email, error="Too many attempts; wait.")
    try:
        check_new_password(password)
        account = await run_in_threadpool(create_account, state.db, email=email, password=password)
    except (ValidationFailed, AccountExists) as exc:
        message = "That email cannot be used." if isinstance(exc, AccountExists) else exc.message
        return render(request, "signup.html", None, status=400, email=email, error=message)
    value = await run_in_threadpool(open_session, state.db, state.settings, account_id=account.id)
    response = see_other("/dashboard")
    set_session_cookie(request, response, value, state.settings.session_ttl_s)
    return response


@router.get("/invite/{token}")
def invite_page(token: str, request: Request, state: StateDep) -> Response:
    try:
        account, _ = check_invite(state.db, state.secret, token)
    except InviteInvalid as exc:
        return render(request, "message.html", None, status=410, title="Invitation not valid", message=exc.message)
    return render(request, "invite.html", None, token=token, email=account.email, error=None)


@router.post("/invite/{token}")
async def accept(token: str, request: Request, state: StateDep) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    password = str(form.get("password", ""))
    try:
        account, _ = check_invite(state.db, state.secret, token)
        if password != str(form.get("confirm_password", "")):
            raise ValidationFailed("the password and its confirmation differ")
        await run_in_threadpool(accept_invite, state.db, state.secret, token, password=password)
    except InviteInvalid as exc:
        return render(request, "message.html", None, status=410, title="Invitation not valid", message=exc.message)
    except ValidationFailed as exc:
        return render(request, "invite.html", None, status=400, token=token, email=account.email, error=exc.message)
    value = await run_in_threadpool(open_session, state.db, state.settings, account_id=account.id)
    response = see_other("/dashboard")
    set_session_cookie(request, response, value, state.settings.session_ttl_s)
    return response
