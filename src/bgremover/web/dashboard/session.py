"""The browser side of sessions: the cookie, the page dependencies and CSRF checks (throttle: login_throttle.py).

The cookie is HttpOnly (no script reads it), SameSite=Lax (other sites' forms and fetches don't carry it)
and Secure whenever the request came over https. CSRF is checked on every state-changing request anyway
(defence in depth against same-site attackers and old browsers): forms send ``csrf_token``, the page's
JSON calls send ``X-CSRF-Token``.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service.web_sessions import WebSession, find_session
from bgremover.web.deps import get_state
from bgremover.web.state import AppState

COOKIE = "bgr_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """A page needs a signed-in user: answered with a redirect to /login (see ``install_dashboard``)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but not allowed: a failed CSRF check, or a non-admin on an admin page."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def set_session_cookie(request: Request, response: Response, value: str, max_age: int) -> None:
    response.set_cookie(COOKIE, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


async def optional_session(request: Request) -> WebSession | None:
    state: AppState = get_state(request)
    session = await run_in_threadpool(find_session, state.db, request.cookies.get(COOKIE))
    if session is not None:
        request.state.account_id = session.account.id
    return session


async def require_session(request: Request,
                          session: Annotated[WebSession | None, Depends(optional_session)]) -> WebSession:
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return session


async def require_admin(session: Annotated[WebSession, Depends(require_session)]) -> WebSession:
    if not session.account.is_admin:
        raise Forbidden("forbidden", "This page is for administrators.")
    return session


async def check_form_csrf(request: Request, session: WebSession) -> dict[str, str]:
    """The posted form's fields, after its CSRF token matched the session's; else Forbidden."""
    form = await request.form(max_files=0, max_fields=30)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not session.csrf_ok(fields.get(CSRF_FIELD)):
        raise Forbidden("csrf_failed", "The form was not sent from this page or has expired. Reload and try again.")
    return fields


def check_header_csrf(request: Request, session: WebSession) -> None:
    if not session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise Forbidden("csrf_failed", "Missing or wrong X-CSRF-Token header.")


Session = Annotated[WebSession, Depends(require_session)]
AdminSession = Annotated[WebSession, Depends(require_admin)]
MaybeSession = Annotated[WebSession | None, Depends(optional_session)]
